import Support

// Root-mean-square normalisation over the last dimension (T5's `T5LayerNorm`): no mean subtraction,
// no bias.
//
// Shapes:
//   N rows (= B·T), C channels
//   inp, out, dinp, dout (N,C)    weight, dweight (C)    rstd (N)
//
// Forward:  rstd = 1/√(mean(x²) + eps),  xhat = x·rstd,  out = xhat·w.
// Backward: dxhat = dout·w;  dx = rstd·(dxhat − xhat·mean(dxhat·xhat));  dw += Σ_rows dout·xhat.

/// RMS normalisation with a learned per-channel scale (T5, LLaMA).
public enum RMSNorm {
    /// out = inp·rstd·weight per row; saves rstd for backward.
    public static func forward(out: UnsafeMutablePointer<Float> /* (N,C) */,
                               rstd: UnsafeMutablePointer<Float> /* (N) */,
                               inp: UnsafePointer<Float> /* (N,C) */,
                               weight: UnsafePointer<Float> /* (C) */,
                               N: Int, C: Int, eps: Float = 1e-6) {
        precondition(N >= 0 && C > 0, "bad rmsnorm shape")
        Parallel.chunks(N, minChunk: 16) { rows in
            for n in rows {
                let x = inp + n * C, y = out + n * C
                var acc = SIMD16<Float>()
                var c = 0
                while c + 16 <= C { let v = x.load16(c); acc = acc.addingProduct(v, v); c += 16 }
                var s = acc.laneSum
                while c < C { s += x[c] * x[c]; c += 1 }
                let r = 1 / (s / Float(C) + eps).squareRoot()
                rstd[n] = r
                let rv = SIMD16<Float>(repeating: r)
                c = 0
                while c + 16 <= C { y.store16(c, x.load16(c) * rv * weight.load16(c)); c += 16 }
                while c < C { y[c] = x[c] * r * weight[c]; c += 1 }
            }
        }
    }

    /// Accumulates dinp and dweight (+=) from dout, using the rstd saved by forward.
    ///
    /// Two parallel passes, as `LayerNorm.backward`: rows for dinp, then blocks of channels for dweight.
    public static func backward(dinp: UnsafeMutablePointer<Float> /* (N,C) += */,
                                dweight: UnsafeMutablePointer<Float> /* (C) += */,
                                dout: UnsafePointer<Float> /* (N,C) */,
                                inp: UnsafePointer<Float> /* (N,C) */,
                                weight: UnsafePointer<Float> /* (C) */,
                                rstd: UnsafePointer<Float> /* (N) */,
                                N: Int, C: Int) {
        precondition(N >= 0 && C > 0, "bad rmsnorm shape")
        Parallel.chunks(N, minChunk: 16) { rows in
            for n in rows {
                let x = inp + n * C, g = dout + n * C, dx = dinp + n * C
                let r = rstd[n], rv = SIMD16<Float>(repeating: r)
                var acc = SIMD16<Float>()
                var c = 0
                while c + 16 <= C { acc = acc.addingProduct(g.load16(c) * weight.load16(c), x.load16(c) * rv); c += 16 }
                var s = acc.laneSum
                while c < C { s += g[c] * weight[c] * x[c] * r; c += 1 }
                let m = s / Float(C), mv = SIMD16<Float>(repeating: m)
                c = 0
                while c + 16 <= C {
                    let t = g.load16(c) * weight.load16(c) - x.load16(c) * rv * mv
                    dx.store16(c, dx.load16(c).addingProduct(t, rv))
                    c += 16
                }
                while c < C { dx[c] += (g[c] * weight[c] - x[c] * r * m) * r; c += 1 }
            }
        }
        Parallel.addRowSums(into: dweight, nil, width: C, rows: N) { n, c, lanes, dw, _ in
            dw = dw.addingProduct((dout + n * C).load16(c, lanes: lanes), (inp + n * C).load16(c, lanes: lanes) * SIMD16(repeating: rstd[n]))
        }
    }
}
