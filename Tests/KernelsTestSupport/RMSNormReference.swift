import Foundation
import Kernels

/// Double-precision reference for `RMSNorm`: plain loops.
public enum RMSNormReference {
    /// Returns out (N,C) and rstd (N).
    public static func forward(inp: [Double], weight: [Double], N: Int, C: Int, eps: Double = 1e-6) -> (out: [Double], rstd: [Double]) {
        var out = [Double](repeating: 0, count: N * C), rstd = [Double](repeating: 0, count: N)
        for n in 0..<N {
            var s = 0.0
            for c in 0..<C { s += inp[n * C + c] * inp[n * C + c] }
            let r = 1 / (s / Double(C) + eps).squareRoot()
            for c in 0..<C { out[n * C + c] = inp[n * C + c] * r * weight[c] }
            rstd[n] = r
        }
        return (out, rstd)
    }

    /// Returns dinp (N,C) and dweight (C) for the given dout (recomputes rstd).
    public static func backward(dout: [Double], inp: [Double], weight: [Double], N: Int, C: Int, eps: Double = 1e-6)
        -> (dinp: [Double], dweight: [Double]) {
        let rstd = forward(inp: inp, weight: weight, N: N, C: C, eps: eps).rstd
        var dinp = [Double](repeating: 0, count: N * C), dweight = [Double](repeating: 0, count: C)
        for n in 0..<N {
            let r = rstd[n]
            var m = 0.0
            for c in 0..<C {
                let xhat = inp[n * C + c] * r
                m += dout[n * C + c] * weight[c] * xhat
                dweight[c] += dout[n * C + c] * xhat
            }
            m /= Double(C)
            for c in 0..<C { dinp[n * C + c] = (dout[n * C + c] * weight[c] - inp[n * C + c] * r * m) * r }
        }
        return (dinp, dweight)
    }
}
