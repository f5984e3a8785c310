import Foundation
import Kernels

/// Double-precision reference for `AdamW`, written from the formulas above.
public enum AdamWReference {
    /// Applies one step to the arrays in place.
    public static func step(params: inout [Double], grads: [Double], m: inout [Double], v: inout [Double],
                            lr: Double, beta1: Double, beta2: Double, eps: Double, weightDecay: Double,
                            t: Int, gradScale: Double = 1) {
        let bc1 = 1 - Foundation.pow(beta1, Double(t)), bc2 = 1 - Foundation.pow(beta2, Double(t))
        for i in params.indices {
            let g = grads[i] * gradScale
            params[i] *= 1 - lr * weightDecay
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            let mhat = m[i] / bc1, vhat = v[i] / bc2
            params[i] -= lr * mhat / (vhat.squareRoot() + eps)
        }
    }
}
