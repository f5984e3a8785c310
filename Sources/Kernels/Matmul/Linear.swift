import Support

// Fully connected layer (matrix multiply plus bias) through OpenBLAS sgemm, in either weight layout, or
// with bf16 operands and fp32 accumulation through a `BF16Matmul` (`precision:`; bias, dbias fp32).
//
// Shapes:
//   N rows (= B·T), IC input channels, OC output channels
//   inp, dinp (N,IC)    out, dout (N,OC)    bias, dbias (OC)
//   weight, dweight (IC,OC)  — Hugging Face GPT-2 `Conv1D` layout, row-major: out = inp·W + b
//   transposed variants: weight (OC,IC) — PyTorch `nn.Linear` (Hugging Face BERT) or the tied LM head
//   wte (V,C): out = inp·Wᵀ + b
//
// Backward (IC,OC): dinp += dout·Wᵀ;  dW += inpᵀ·dout;  db += Σ_rows dout.
// Backward (OC,IC): dinp += dout·W;   dW += doutᵀ·inp;  db += Σ_rows dout.
// Stacking k weights of (OC_i, IC) one after another gives one (Σ OC_i, IC) weight whose output holds
// the k outputs side by side: BERT's query, key and value become one fused qkv product this way.

/// A dense layer y = x·W + b, with the GPT-2 `Conv1D` (in, out) weight layout or the transposed
/// `nn.Linear` (out, in) one.
public enum Linear {
    /// How a weight is stored: (IC,OC) as GPT-2's `Conv1D`, or (OC,IC) as `nn.Linear`.
    enum WeightLayout {
        case inOut, outIn
    }

    /// out = inp·weight + bias (bias optional). The bias is written first and sgemm accumulates onto it
    /// (beta = 1), which costs nothing extra: OpenBLAS would otherwise zero `out` first.
    public static func forward(out: UnsafeMutablePointer<Float> /* (N,OC) */,
                               inp: UnsafePointer<Float> /* (N,IC) */,
                               weight: UnsafePointer<Float> /* (IC,OC) */,
                               bias: UnsafePointer<Float>? /* (OC) */,
                               N: Int, IC: Int, OC: Int, precision bf16: BF16Matmul? = nil, roundedInput: UnsafeRawPointer? = nil) {
        forward(.inOut, out: out, inp: inp, weight: weight, bias: bias, N: N, IC: IC, OC: OC, bf16: bf16, rounded: roundedInput)
    }

    /// Accumulates dinp += dout·weightᵀ, dweight += inpᵀ·dout, dbias += Σ_rows dout. Any of the three
    /// outputs may be nil to skip it (e.g. no dinp for the first layer's input).
    public static func backward(dinp: UnsafeMutablePointer<Float>? /* (N,IC) += */,
                                dweight: UnsafeMutablePointer<Float>? /* (IC,OC) += */,
                                dbias: UnsafeMutablePointer<Float>? /* (OC) += */,
                                dout: UnsafePointer<Float> /* (N,OC) */,
                                inp: UnsafePointer<Float> /* (N,IC) */,
                                weight: UnsafePointer<Float> /* (IC,OC) */,
                                N: Int, IC: Int, OC: Int, precision bf16: BF16Matmul? = nil, roundedInput: UnsafeRawPointer? = nil) {
        backward(.inOut, dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight, N: N, IC: IC, OC: OC, bf16: bf16,
                 rounded: roundedInput)
    }

    /// out = inp·weightᵀ + bias with weight stored (OC,IC) (`nn.Linear`, or the tied LM head with
    /// weight = wte (V,C) and no bias). The bias is written first and sgemm accumulates onto it (beta = 1).
    public static func forwardTransposed(out: UnsafeMutablePointer<Float> /* (N,OC) */,
                                         inp: UnsafePointer<Float> /* (N,IC) */,
                                         weight: UnsafePointer<Float> /* (OC,IC) */,
                                         bias: UnsafePointer<Float>? = nil /* (OC) */,
                                         N: Int, IC: Int, OC: Int, precision bf16: BF16Matmul? = nil, roundedInput: UnsafeRawPointer? = nil) {
        forward(.outIn, out: out, inp: inp, weight: weight, bias: bias, N: N, IC: IC, OC: OC, bf16: bf16, rounded: roundedInput)
    }

    /// Accumulates dinp += dout·weight, dweight += doutᵀ·inp and dbias += Σ_rows dout for the (OC,IC)
    /// layout of `forwardTransposed`. Any of the three outputs may be nil to skip it.
    public static func backwardTransposed(dinp: UnsafeMutablePointer<Float>? /* (N,IC) += */,
                                          dweight: UnsafeMutablePointer<Float>? /* (OC,IC) += */,
                                          dbias: UnsafeMutablePointer<Float>? = nil /* (OC) += */,
                                          dout: UnsafePointer<Float> /* (N,OC) */,
                                          inp: UnsafePointer<Float> /* (N,IC) */,
                                          weight: UnsafePointer<Float> /* (OC,IC) */,
                                          N: Int, IC: Int, OC: Int, precision bf16: BF16Matmul? = nil, roundedInput: UnsafeRawPointer? = nil) {
        backward(.outIn, dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight, N: N, IC: IC, OC: OC, bf16: bf16,
                 rounded: roundedInput)
    }

    /// The forward of either layout: one sgemm, onto the broadcast bias when there is one. With bf16,
    /// `rounded` is the input already in the path's representation (N, IC) packed, else it is
    /// rounded here in chunks of rows.
    @inline(__always)
    static func forward(_ layout: WeightLayout, out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, N: Int, IC: Int, OC: Int, bf16: BF16Matmul?,
                        rounded: UnsafeRawPointer? = nil) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        if let bias { fillRows(out, with: bias, N: N, width: OC) }
        if let bf16 {
            let per = columnsPerSlice(OC: OC, rows: 0, IC: IC, kept: bf16.keeps(weight, count: IC * OC))
            forEachRowChunk(N, width: rounded == nil ? IC : 0) { r0, n in
                let a = rounded.map { $0 + r0 * IC * bf16.elementSize } ?? bf16.round(inp + r0 * IC, rows: n, cols: IC, slot: 0)
                var o0 = 0
                while o0 < OC {
                    let m = min(per, OC - o0), (W, ldw) = weightSlice(layout, weight, o0, m, IC: IC, OC: OC, bf16)
                    bf16.multiply(transA: false, transB: layout == .outIn, M: n, N: m, K: IC, A: a, lda: IC, B: W,
                                  ldb: ldw, beta: bias == nil ? 0 : 1, C: out + r0 * OC + o0, ldc: OC)
                    o0 += m
                }
            }
            return
        }
        GEMM.sgemm(transA: false, transB: layout == .outIn, M: N, N: OC, K: IC, A: inp, lda: IC,
                   B: weight, ldb: layout == .outIn ? IC : OC, beta: bias == nil ? 0 : 1, C: out, ldc: OC)
    }

    /// The backward of either layout. dinp multiplies dout by the weight (transposed for (IC,OC));
    /// dweight is (first)ᵀ·(second) with the operands in the weight's own order: inp, dout for
    /// (IC,OC) and dout, inp for (OC,IC).
    @inline(__always)
    static func backward(_ layout: WeightLayout, dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                         dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                         weight: UnsafePointer<Float>, N: Int, IC: Int, OC: Int, bf16: BF16Matmul?, rounded: UnsafeRawPointer? = nil) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        if let bf16 {
            backwardBF16(layout, dinp: dinp, dweight: dweight, dout: dout, inp: inp, rounded: rounded, weight: weight, N: N, IC: IC, OC: OC, bf16)
            if let dbias { columnSums(into: dbias, dout, N: N, width: OC) }
            return
        }
        if let dinp {
            GEMM.sgemm(transA: false, transB: layout == .inOut, M: N, N: IC, K: OC, A: dout, lda: OC,
                       B: weight, ldb: layout == .inOut ? OC : IC, beta: 1, C: dinp, ldc: IC)
        }
        if let dweight {
            let (rows, rowWidth, cols, colWidth) = layout == .inOut ? (inp, IC, dout, OC) : (dout, OC, inp, IC)
            GEMM.sgemm(transA: true, transB: false, M: rowWidth, N: colWidth, K: N, A: rows, lda: rowWidth,
                       B: cols, ldb: colWidth, beta: 1, C: dweight, ldc: colWidth)
        }
        if let dbias { columnSums(into: dbias, dout, N: N, width: OC) }
    }

    /// The two backward products with bf16 operands. The input is rounded once (unless `rounded`
    /// holds it already); d(out) is rounded in chunks of its columns (the OC outputs), each serving
    /// both products, so every dweight element gets its one product added once per call (what N ranks
    /// = 1 rank bitwise needs) while dinp sums the chunks in order.
    static func backwardBF16(_ layout: WeightLayout, dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                             dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, rounded: UnsafeRawPointer?, weight: UnsafePointer<Float>,
                             N: Int, IC: Int, OC: Int, _ bf16: BF16Matmul) {
        let x = dweight == nil ? nil : (rounded ?? bf16.round(inp, rows: N, cols: IC, slot: 1))
        let per = columnsPerSlice(OC: OC, rows: N, IC: IC, kept: dinp == nil || bf16.keeps(weight, count: IC * OC))
        var o0 = 0
        while o0 < OC {
            let n = min(per, OC - o0)
            let d = bf16.round(dout + o0, rows: N, cols: n, ld: OC, slot: 0)
            if let dinp {
                // dinp += d (N,n) · the n rows of W (OC,IC), or of Wᵀ for (IC,OC)
                let (b, ldb) = weightSlice(layout, weight, o0, n, IC: IC, OC: OC, bf16)
                bf16.multiply(transA: false, transB: layout == .inOut, M: N, N: IC, K: n, A: d, lda: n, B: b,
                              ldb: ldb, beta: 1, C: dinp, ldc: IC)
            }
            if let dweight, let x {
                if layout == .inOut {   // dW[:, o0..<o0+n] += xᵀ · d
                    bf16.multiply(transA: true, transB: false, M: IC, N: n, K: N, A: x, lda: IC, B: d, ldb: n,
                                  beta: 1, C: dweight + o0, ldc: OC)
                } else {                // dW[o0..<o0+n, :] += dᵀ · x
                    bf16.multiply(transA: true, transB: false, M: n, N: IC, K: N, A: d, lda: n, B: x, ldb: IC,
                                  beta: 1, C: dweight + o0 * IC, ldc: IC)
                }
            }
            o0 += n
        }
    }

    /// Output columns o0..<o0+n of `weight` as a bf16 operand and its leading dimension: inside the
    /// kept copy when there is one (`BF16Matmul.keeps`), else rounded now into scratch slot 3, packed.
    /// (OC,IC): n rows of IC; (IC,OC): IC rows of n columns.
    static func weightSlice(_ layout: WeightLayout, _ weight: UnsafePointer<Float>, _ o0: Int, _ n: Int, IC: Int, OC: Int,
                            _ bf16: BF16Matmul) -> (UnsafeRawPointer, Int) {
        if bf16.keeps(weight, count: IC * OC) {
            let W = bf16.weight(weight, count: IC * OC, slot: 3), size = bf16.elementSize
            return layout == .outIn ? (W + o0 * IC * size, IC) : (W + o0 * size, OC)
        }
        return layout == .outIn ? (bf16.round(weight + o0 * IC, rows: n, cols: IC, slot: 3), IC)
                                : (bf16.round(weight + o0, rows: IC, cols: n, ld: OC, slot: 3), n)
    }

    /// Output columns per slice: all OC when the (rows, OC) operand and, for a weight without a kept
    /// copy, its (IC, OC) rounding fit `chunkElements`; else a multiple of 16 that does.
    static func columnsPerSlice(OC: Int, rows: Int, IC: Int, kept: Bool) -> Int {
        let widest = max(rows, kept ? 0 : IC)
        return widest * OC <= chunkElements ? OC : min(OC, max(16, chunkElements / max(widest, 1) / 16 * 16))
    }

    /// Rounded operands are made for at most this many elements at once (8 MB of bf16: the scratch
    /// a bf16 model keeps for them, e.g. a slice of the LM head's (tokens, vocab) logit gradient);
    /// settable so tests can reach the chunked path with small matrices. Set once at start-up, not
    /// concurrently.
    public nonisolated(unsafe) static var chunkElements = 4 << 20

    /// Calls body(firstRow, rows) over consecutive chunks of N rows of `width` elements, each at most
    /// `chunkElements` (at least 64 rows); one chunk when everything fits (always for width 0).
    @inline(__always)
    static func forEachRowChunk(_ N: Int, width: Int, _ body: (Int, Int) -> Void) {
        let per = N * width <= chunkElements ? max(N, 1) : max(64, chunkElements / width / 64 * 64)
        var r0 = 0
        repeat {
            body(r0, min(per, N - r0))
            r0 += per
        } while r0 < N
    }

    /// Writes `row` (width) into each of the N rows of `dst` (N,width). Parallel over rows.
    static func fillRows(_ dst: UnsafeMutablePointer<Float>, with row: UnsafePointer<Float>, N: Int, width: Int) {
        Parallel.chunks(N, minChunk: 32) { rows in
            for n in rows { (dst + n * width).update(from: row, count: width) }
        }
    }

    /// sums[c] += Σ_n src[n,c]: the rows summed in order from zero, then added once (`addRowSums`).
    static func columnSums(into sums: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, N: Int, width: Int) {
        Parallel.addRowSums(into: sums, nil, width: width, rows: N) { n, c, lanes, sum, _ in sum += src.load16(n * width + c, lanes: lanes) }
    }
}
