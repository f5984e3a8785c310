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
        LayerNorm.forwardRows(out: out, mean: nil, rstd: rstd, inp: inp, weight: weight, bias: nil, N: N, C: C, eps: eps)
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
        LayerNorm.backwardRows(dinp: dinp, dweight: dweight, dbias: nil, dout: dout, inp: inp, weight: weight, mean: nil, rstd: rstd, N: N, C: C)
    }
}
