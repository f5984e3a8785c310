import Foundation
import Kernels

/// Double-precision reference for `LayerNorm`: plain loops, for tests and model-level references.
public enum LayerNormReference {
    /// Returns out (N,C), mean (N) and rstd (N).
    public static func forward(inp: [Double], weight: [Double], bias: [Double], N: Int, C: Int, eps: Double = 1e-5)
        -> (out: [Double], mean: [Double], rstd: [Double]) {
        var out = [Double](repeating: 0, count: N * C)
        var mean = [Double](repeating: 0, count: N), rstd = [Double](repeating: 0, count: N)
        for n in 0..<N {
            var m = 0.0
            for c in 0..<C { m += inp[n * C + c] }
            m /= Double(C)
            var v = 0.0
            for c in 0..<C { let d = inp[n * C + c] - m; v += d * d }
            v /= Double(C)
            let r = 1 / (v + eps).squareRoot()
            for c in 0..<C { out[n * C + c] = (inp[n * C + c] - m) * r * weight[c] + bias[c] }
            mean[n] = m
            rstd[n] = r
        }
        return (out, mean, rstd)
    }

    /// Returns dinp (N,C), dweight (C), dbias (C) for the given dout (recomputes the statistics).
    public static func backward(dout: [Double], inp: [Double], weight: [Double], N: Int, C: Int, eps: Double = 1e-5)
        -> (dinp: [Double], dweight: [Double], dbias: [Double]) {
        let stats = forward(inp: inp, weight: weight, bias: [Double](repeating: 0, count: C), N: N, C: C, eps: eps)
        var dinp = [Double](repeating: 0, count: N * C)
        var dweight = [Double](repeating: 0, count: C), dbias = [Double](repeating: 0, count: C)
        for n in 0..<N {
            let m = stats.mean[n], r = stats.rstd[n]
            var m1 = 0.0, m2 = 0.0
            for c in 0..<C {
                let xhat = (inp[n * C + c] - m) * r
                let dxhat = dout[n * C + c] * weight[c]
                m1 += dxhat
                m2 += dxhat * xhat
                dweight[c] += dout[n * C + c] * xhat
                dbias[c] += dout[n * C + c]
            }
            m1 /= Double(C)
            m2 /= Double(C)
            for c in 0..<C {
                let xhat = (inp[n * C + c] - m) * r
                dinp[n * C + c] = (dout[n * C + c] * weight[c] - m1 - xhat * m2) * r
            }
        }
        return (dinp, dweight, dbias)
    }
}
