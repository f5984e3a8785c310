import Support

// Layer normalisation over the last dimension.
//
// Shapes:
//   N rows (= B·T), C channels
//   inp, out, dinp, dout (N,C)    weight, bias, dweight, dbias (C)    mean, rstd (N)
//
// Forward:  xhat = (x − mean)·rstd,  rstd = 1/√(var + eps) (biased variance),  out = xhat·w + b.
// Backward: dxhat = dout·w;  dx = rstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat));
//           dw += Σ_rows dout·xhat;  db += Σ_rows dout.

/// Layer normalisation with learned per-channel scale and shift (PyTorch `nn.LayerNorm`).
public enum LayerNorm {
    /// out = (inp − mean)·rstd·weight + bias per row; saves mean and rstd for backward.
    public static func forward(out: UnsafeMutablePointer<Float> /* (N,C) */,
                               mean: UnsafeMutablePointer<Float> /* (N) */,
                               rstd: UnsafeMutablePointer<Float> /* (N) */,
                               inp: UnsafePointer<Float> /* (N,C) */,
                               weight: UnsafePointer<Float> /* (C) */,
                               bias: UnsafePointer<Float> /* (C) */,
                               N: Int, C: Int, eps: Float = 1e-5) {
        precondition(N >= 0 && C > 0, "bad layernorm shape")
        forwardRows(out: out, mean: mean, rstd: rstd, inp: inp, weight: weight, bias: bias, N: N, C: C, eps: eps)
    }

    /// The forward pass of LayerNorm and, with no `mean` (taken as zero, nothing saved) and no `bias`,
    /// of RMSNorm (term for term its formula, so one kernel serves both).
    static func forwardRows(out: UnsafeMutablePointer<Float> /* (N,C) */,
                            mean: UnsafeMutablePointer<Float>? /* (N) */,
                            rstd: UnsafeMutablePointer<Float> /* (N) */,
                            inp: UnsafePointer<Float> /* (N,C) */,
                            weight: UnsafePointer<Float> /* (C) */,
                            bias: UnsafePointer<Float>? /* (C) */,
                            N: Int, C: Int, eps: Float) {
        Parallel.chunks(N, minChunk: 16) { rows in
            for n in rows {
                let x = inp + n * C, y = out + n * C
                // Two passes for accuracy: the mean, then the variance about it.
                let m = mean == nil ? 0 : x.rowSum(C) / Float(C)
                let r = 1 / (x.rowSumOfSquares(C, about: m) / Float(C) + eps).squareRoot()
                mean?[n] = m
                rstd[n] = r
                // Normalise, scale, shift.
                let mv = SIMD16<Float>(repeating: m), rv = SIMD16<Float>(repeating: r)
                var c = 0
                while c + 16 <= C {
                    let xhat = (x.load16(c) - mv) * rv
                    y.store16(c, bias.map { $0.load16(c).addingProduct(xhat, weight.load16(c)) } ?? xhat * weight.load16(c))
                    c += 16
                }
                while c < C { y[c] = (x[c] - m) * r * weight[c] + (bias?[c] ?? 0); c += 1 }
            }
        }
    }

    /// Accumulates dinp, dweight and dbias (+=) from dout, using the mean and rstd saved by forward.
    ///
    /// Two parallel passes: rows for dinp, then blocks of channels for dweight/dbias, so no two threads
    /// write the same element and the summation order does not depend on the thread count; dweight and
    /// dbias get this batch's sums added once (`Parallel.addRowSums`).
    public static func backward(dinp: UnsafeMutablePointer<Float> /* (N,C) += */,
                                dweight: UnsafeMutablePointer<Float> /* (C) += */,
                                dbias: UnsafeMutablePointer<Float> /* (C) += */,
                                dout: UnsafePointer<Float> /* (N,C) */,
                                inp: UnsafePointer<Float> /* (N,C) */,
                                weight: UnsafePointer<Float> /* (C) */,
                                mean: UnsafePointer<Float> /* (N) */,
                                rstd: UnsafePointer<Float> /* (N) */,
                                N: Int, C: Int) {
        precondition(N >= 0 && C > 0, "bad layernorm shape")
        backwardRows(dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight, mean: mean, rstd: rstd, N: N, C: C)
    }

    /// The backward pass of LayerNorm and, with no `mean` (zero) and no `dbias`, of RMSNorm: with
    /// m = 0 every expression below is RMSNorm's term for term, so one kernel serves both.
    static func backwardRows(dinp: UnsafeMutablePointer<Float> /* (N,C) += */,
                             dweight: UnsafeMutablePointer<Float> /* (C) += */,
                             dbias: UnsafeMutablePointer<Float>? /* (C) += */,
                             dout: UnsafePointer<Float> /* (N,C) */,
                             inp: UnsafePointer<Float> /* (N,C) */,
                             weight: UnsafePointer<Float> /* (C) */,
                             mean: UnsafePointer<Float>? /* (N) */,
                             rstd: UnsafePointer<Float> /* (N) */,
                             N: Int, C: Int) {
        Parallel.chunks(N, minChunk: 16) { rows in
            for n in rows {
                let x = inp + n * C, g = dout + n * C, dx = dinp + n * C
                let m = mean?[n] ?? 0, r = rstd[n]
                let mv = SIMD16<Float>(repeating: m), rv = SIMD16<Float>(repeating: r)
                // mean(dxhat) and mean(dxhat·xhat), dxhat = dout·w.
                var a1 = SIMD16<Float>(), a2 = SIMD16<Float>()
                var c = 0
                while c + 16 <= C {
                    let dxh = g.load16(c) * weight.load16(c)
                    let xhat = (x.load16(c) - mv) * rv
                    a1 += dxh
                    a2 = a2.addingProduct(dxh, xhat)
                    c += 16
                }
                var s1 = a1.laneSum, s2 = a2.laneSum
                while c < C {
                    let dxh = g[c] * weight[c]
                    s1 += dxh
                    s2 += dxh * (x[c] - m) * r
                    c += 1
                }
                let m1 = mean == nil ? 0 : s1 / Float(C), m2 = s2 / Float(C)
                let m1v = SIMD16<Float>(repeating: m1), m2v = SIMD16<Float>(repeating: m2)
                c = 0
                while c + 16 <= C {
                    let dxh = g.load16(c) * weight.load16(c)
                    let xhat = (x.load16(c) - mv) * rv
                    let t = (dxh - m1v) - xhat * m2v
                    dx.store16(c, dx.load16(c).addingProduct(t, rv))
                    c += 16
                }
                while c < C {
                    let xhat = (x[c] - m) * r
                    dx[c] += (g[c] * weight[c] - m1 - xhat * m2) * r
                    c += 1
                }
            }
        }
        Parallel.addRowSums(into: dweight, dbias, width: C, rows: N) { n, c, lanes, dw, db in
            let g = (dout + n * C).load16(c, lanes: lanes), x = (inp + n * C).load16(c, lanes: lanes)
            let xhat = (x - SIMD16(repeating: mean?[n] ?? 0)) * SIMD16(repeating: rstd[n])
            dw = dw.addingProduct(g, xhat)
            db += g
        }
    }
}
