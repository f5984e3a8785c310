import Support

// Fully connected layer (matrix multiply plus bias) through OpenBLAS sgemm.
//
// Shapes:
//   N rows (= B·T), IC input channels, OC output channels
//   inp, dinp (N,IC)    out, dout (N,OC)    bias, dbias (OC)
//   weight, dweight (IC,OC)  — Hugging Face GPT-2 `Conv1D` layout, row-major: out = inp·W + b
//   transposed variants: weight (OC,IC) (e.g. the tied LM head wte (V,C)): out = inp·Wᵀ
//
// Backward: dinp += dout·Wᵀ;  dW += inpᵀ·dout;  db += Σ_rows dout.

/// A dense layer y = x·W + b, with the GPT-2 `Conv1D` weight layout and a transposed (tied) variant.
public enum Linear {
    /// out = inp·weight + bias (bias optional). The bias is written first and sgemm accumulates onto it
    /// (beta = 1), which costs nothing extra: OpenBLAS would otherwise zero `out` first.
    public static func forward(out: UnsafeMutablePointer<Float> /* (N,OC) */,
                               inp: UnsafePointer<Float> /* (N,IC) */,
                               weight: UnsafePointer<Float> /* (IC,OC) */,
                               bias: UnsafePointer<Float>? /* (OC) */,
                               N: Int, IC: Int, OC: Int) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        if let bias { fillRows(out, with: bias, N: N, width: OC) }
        GEMM.sgemm(transA: false, transB: false, M: N, N: OC, K: IC, A: inp, lda: IC, B: weight, ldb: OC,
                   beta: bias == nil ? 0 : 1, C: out, ldc: OC)
    }

    /// Accumulates dinp += dout·weightᵀ, dweight += inpᵀ·dout, dbias += Σ_rows dout. Any of the three
    /// outputs may be nil to skip it (e.g. no dinp for the first layer's input).
    public static func backward(dinp: UnsafeMutablePointer<Float>? /* (N,IC) += */,
                                dweight: UnsafeMutablePointer<Float>? /* (IC,OC) += */,
                                dbias: UnsafeMutablePointer<Float>? /* (OC) += */,
                                dout: UnsafePointer<Float> /* (N,OC) */,
                                inp: UnsafePointer<Float> /* (N,IC) */,
                                weight: UnsafePointer<Float> /* (IC,OC) */,
                                N: Int, IC: Int, OC: Int) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        if let dinp {
            GEMM.sgemm(transA: false, transB: true, M: N, N: IC, K: OC, A: dout, lda: OC, B: weight, ldb: OC,
                       beta: 1, C: dinp, ldc: IC)
        }
        if let dweight {
            GEMM.sgemm(transA: true, transB: false, M: IC, N: OC, K: N, A: inp, lda: IC, B: dout, ldb: OC,
                       beta: 1, C: dweight, ldc: OC)
        }
        if let dbias { columnSums(into: dbias, dout, N: N, width: OC) }
    }

    /// out = inp·weightᵀ with weight stored (OC,IC), no bias: the tied LM head (weight = wte (V,C)).
    public static func forwardTransposed(out: UnsafeMutablePointer<Float> /* (N,OC) */,
                                         inp: UnsafePointer<Float> /* (N,IC) */,
                                         weight: UnsafePointer<Float> /* (OC,IC) */,
                                         N: Int, IC: Int, OC: Int) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        GEMM.sgemm(transA: false, transB: true, M: N, N: OC, K: IC, A: inp, lda: IC, B: weight, ldb: IC,
                   beta: 0, C: out, ldc: OC)
    }

    /// Accumulates dinp += dout·weight and dweight += doutᵀ·inp for `forwardTransposed`.
    public static func backwardTransposed(dinp: UnsafeMutablePointer<Float>? /* (N,IC) += */,
                                          dweight: UnsafeMutablePointer<Float>? /* (OC,IC) += */,
                                          dout: UnsafePointer<Float> /* (N,OC) */,
                                          inp: UnsafePointer<Float> /* (N,IC) */,
                                          weight: UnsafePointer<Float> /* (OC,IC) */,
                                          N: Int, IC: Int, OC: Int) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        if let dinp {
            GEMM.sgemm(transA: false, transB: false, M: N, N: IC, K: OC, A: dout, lda: OC, B: weight, ldb: IC,
                       beta: 1, C: dinp, ldc: IC)
        }
        if let dweight {
            GEMM.sgemm(transA: true, transB: false, M: OC, N: IC, K: N, A: dout, lda: OC, B: inp, ldb: IC,
                       beta: 1, C: dweight, ldc: IC)
        }
    }

    /// Writes `row` (width) into each of the N rows of `dst` (N,width). Parallel over rows.
    static func fillRows(_ dst: UnsafeMutablePointer<Float>, with row: UnsafePointer<Float>, N: Int, width: Int) {
        Parallel.chunks(N, minChunk: 32) { rows in
            for n in rows { (dst + n * width).update(from: row, count: width) }
        }
    }

    /// sums[c] += Σ_n src[n,c]. Parallel over blocks of 16 columns, rows summed in order.
    static func columnSums(into sums: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, N: Int, width: Int) {
        let blocks = (width + 15) / 16
        Parallel.chunks(blocks, minChunk: 4) { range in
            let lo = range.lowerBound * 16, hi = min(width, range.upperBound * 16)
            for n in 0..<N {
                let row = src + n * width
                var c = lo
                while c + 16 <= hi { sums.store16(c, sums.load16(c) + row.load16(c)); c += 16 }
                while c < hi { sums[c] += row[c]; c += 1 }
            }
        }
    }
}
