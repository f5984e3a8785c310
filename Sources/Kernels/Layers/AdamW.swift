import Foundation
import Support

// AdamW optimizer step over a contiguous range of parameters (PyTorch torch.optim.AdamW semantics).
//
// Shapes: params, grads, m, v (count), flat.
//
// With g' = g·gradScale (gradScale carries global-norm clipping), step t ≥ 1:
//   p ← p·(1 − lr·wd)                                  (decoupled weight decay)
//   m ← m + (1 − β1)·(g' − m)                          (= β1·m + (1 − β1)·g', PyTorch's lerp form)
//   v ← β2·v + (1 − β2)·g'²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)

/// One AdamW update (decoupled weight decay, bias-corrected moments), vectorised and parallel.
public enum AdamW {
    /// Updates params, m and v in place for step number `t` (1-based). Memory-bound: reads 4 floats and
    /// writes 3 per parameter. With `rounded`, also writes each new parameter rounded to bf16 there
    /// (mixed precision's weight copy, made in the same pass).
    public static func step(params: UnsafeMutablePointer<Float> /* (count) */,
                            grads: UnsafePointer<Float> /* (count) */,
                            m: UnsafeMutablePointer<Float> /* (count) first moment */,
                            v: UnsafeMutablePointer<Float> /* (count) second moment */,
                            count: Int, lr: Float, beta1: Float, beta2: Float, eps: Float,
                            weightDecay: Float, t: Int, gradScale: Float = 1, rounded: BF16Destination? = nil) {
        precondition(count >= 0, "negative count")
        precondition(t >= 1, "AdamW step numbers start at 1")
        let bc1 = 1 - Foundation.pow(Double(beta1), Double(t))
        let bc2 = 1 - Foundation.pow(Double(beta2), Double(t))
        let stepSize = Float(Double(lr) / bc1)
        let invSqrtBc2 = Float(1 / bc2.squareRoot())
        let decay = 1 - lr * weightDecay
        let c = Constants(decay: decay, oneMinusB1: 1 - beta1, beta2: beta2, oneMinusB2: 1 - beta2,
                          eps: eps, stepSize: stepSize, invSqrtBc2: invSqrtBc2, gradScale: gradScale)
        Parallel.chunks((count + 15) / 16, minChunk: 4096) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            var i = lo
            while i + 16 <= hi {
                let (p1, m1, v1) = update(params.load16(i), grads.load16(i), m.load16(i), v.load16(i), c)
                params.store16(i, p1)
                rounded?.store16(i, p1)
                m.store16(i, m1)
                v.store16(i, v1)
                i += 16
            }
            if i < hi {
                let n = hi - i
                let (p1, m1, v1) = update(params.loadPartial16(i, n), grads.loadPartial16(i, n),
                                          m.loadPartial16(i, n), v.loadPartial16(i, n), c)
                params.storePartial16(i, n, p1)
                rounded?.storePartial16(i, n, p1)
                m.storePartial16(i, n, m1)
                v.storePartial16(i, n, v1)
            }
        }
    }

    /// The per-step scalars, broadcast once.
    struct Constants {
        let decay, oneMinusB1, beta2, oneMinusB2, eps, stepSize, invSqrtBc2, gradScale: Float
    }

    /// The update of 16 parameters.
    @inline(__always)
    static func update(_ p: SIMD16<Float>, _ g: SIMD16<Float>, _ m: SIMD16<Float>, _ v: SIMD16<Float>, _ c: Constants)
        -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        let gs = g * c.gradScale
        let m1 = m.addingProduct(gs - m, SIMD16(repeating: c.oneMinusB1))
        let v1 = (v * c.beta2).addingProduct(gs * gs, SIMD16(repeating: c.oneMinusB2))
        let denom = FastMath.sqrt(v1) * c.invSqrtBc2 + c.eps
        let p1 = (p * c.decay).addingProduct(m1 / denom, SIMD16(repeating: -c.stepSize))
        return (p1, m1, v1)
    }
}
