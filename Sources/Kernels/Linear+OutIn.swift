// Fully connected layer with PyTorch `nn.Linear`'s (out, in) weight layout and a bias.
//
// Shapes:
//   N rows (= B·T), IC input channels, OC output channels
//   inp, dinp (N,IC)    out, dout (N,OC)    bias, dbias (OC)
//   weight, dweight (OC,IC)  — `nn.Linear` layout (Hugging Face BERT): out = inp·Wᵀ + b
//
// Backward: dinp += dout·W;  dW += doutᵀ·inp;  db += Σ_rows dout.
// Stacking k weights of (OC_i, IC) one after another gives one (Σ OC_i, IC) weight whose output holds
// the k outputs side by side: BERT's query, key and value become one fused qkv product this way.

extension Linear {
    /// out = inp·weightᵀ + bias with weight stored (OC,IC) (`nn.Linear`); bias optional. The bias is
    /// written first and sgemm accumulates onto it (beta = 1).
    public static func forwardTransposed(out: UnsafeMutablePointer<Float> /* (N,OC) */,
                                         inp: UnsafePointer<Float> /* (N,IC) */,
                                         weight: UnsafePointer<Float> /* (OC,IC) */,
                                         bias: UnsafePointer<Float>? /* (OC) */,
                                         N: Int, IC: Int, OC: Int) {
        precondition(N >= 0 && IC > 0 && OC > 0, "bad linear shape")
        if let bias { fillRows(out, with: bias, N: N, width: OC) }
        GEMM.sgemm(transA: false, transB: true, M: N, N: OC, K: IC, A: inp, lda: IC, B: weight, ldb: IC,
                   beta: bias == nil ? 0 : 1, C: out, ldc: OC)
    }

    /// Accumulates dinp += dout·weight, dweight += doutᵀ·inp and dbias += Σ_rows dout for the
    /// (OC,IC) layout. Any of the three outputs may be nil to skip it.
    public static func backwardTransposed(dinp: UnsafeMutablePointer<Float>? /* (N,IC) += */,
                                          dweight: UnsafeMutablePointer<Float>? /* (OC,IC) += */,
                                          dbias: UnsafeMutablePointer<Float>? /* (OC) += */,
                                          dout: UnsafePointer<Float> /* (N,OC) */,
                                          inp: UnsafePointer<Float> /* (N,IC) */,
                                          weight: UnsafePointer<Float> /* (OC,IC) */,
                                          N: Int, IC: Int, OC: Int) {
        backwardTransposed(dinp: dinp, dweight: dweight, dout: dout, inp: inp, weight: weight, N: N, IC: IC, OC: OC)
        if let dbias { columnSums(into: dbias, dout, N: N, width: OC) }
    }
}
