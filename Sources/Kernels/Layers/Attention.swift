import Foundation
import Support

// Multi-head scaled dot-product attention: queries of one sequence against keys/values of another
// (or the same) sequence.
//
// Shapes:
//   B batch, Tq query positions, Tk key/value positions, NH heads, hs head size, D = NH·hs
//   (D may differ from the model width C, as T5's d_kv does)
//   q, dq (B,Tq,ldq): head h of query row i is q[b, i, h·hs ..< (h+1)·hs]; row stride ldq ≥ D
//   k, dk (B,Tk,ldk) and v, dv (B,Tk,ldv): likewise, with their own row strides
//     (GPT/BERT's fused qkv (B,T,3C) is q = qkv, k = qkv + C, v = qkv + 2C, all with stride 3C: no copies)
//   out, dout (B,Tq,D): head h in columns [h·hs, (h+1)·hs)
//   att (B,NH,Tq,Tk): softmax probabilities (0 where masked), saved for backward
//   scratch (B,NH,Tq,Tk): dscores in backward
//   keyPadding (B,Tk) bytes, optional: 0 = that key is padding and never attended
//   bias, dbias (NH,Tq,Tk), optional: an additive score bias per head shared across the batch
//     (T5's relative position bias); backward accumulates its gradient, summed over the batch
//   dropped (B,NH,Tq,Tk), optional: P∘M/(1−p), the attention weights after dropout (M from Dropout's
//           counter-based stream at index pair·Tq·Tk + i·Tk + j), used for P·V; `att` keeps P itself
//
// Per (b,h), with Q (Tq,hs), K, V (Tk,hs) the strided views (no copies):
//   S = scale·Q·Kᵀ + bias (scale 1/√hs by default; T5 uses 1), masked where a key is padding and,
//   when causal, where j > i + (Tk − Tq) (query i is the last Tq of Tk positions: the usual lower
//   triangle for Tq = Tk, and "new tokens against a cache" for Tq < Tk), P = softmax_rows(S), out = P·V
// Backward: dP = dout·Vᵀ, dV += Pᵀ·dout, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dbias += Σ_b dS,
//   dQ += scale·dS·K, dK += scale·dSᵀ·Q
// With attention dropout, out = D·V for D = P∘M/(1−p): dV += Dᵀ·dout and dP = (dout·Vᵀ)∘M/(1−p), where
// M is read back as D ≠ 0 (a kept probability is never 0 except where the key is masked, and there
// dS = P·(…) = 0 anyway).
//
// A row whose keys are all masked (possible only with key padding) gets all-zero probabilities and a
// zero output (PyTorch would produce NaN there).

/// Multi-head scaled dot-product attention, self or cross, causal or bidirectional, with optional key
/// padding, additive per-head bias and attention dropout.
///
/// Work is parallel across the B·NH (batch, head) pairs with OpenBLAS single-threaded inside: each pair's
/// Tq×Tk block stays in its core's L2. Causal attention is computed in blocks of `rowBlock` query rows
/// that only multiply the key columns they can see, which skips most of the masked upper triangle.
public enum Attention {
    /// Query rows per block in causal attention (tuned with KernelBench: 64 at T = 256).
    public nonisolated(unsafe) static var rowBlock = 64

    /// out = softmax(mask(scale·Q·Kᵀ + bias))·V per head; saves the probabilities in `att`.
    public static func forward(out: UnsafeMutablePointer<Float> /* (B,Tq,NH·hs) */,
                               att: UnsafeMutablePointer<Float> /* (B,NH,Tq,Tk) */,
                               q: UnsafePointer<Float> /* (B,Tq,ldq) */, ldq: Int,
                               k: UnsafePointer<Float> /* (B,Tk,ldk) */, ldk: Int,
                               v: UnsafePointer<Float> /* (B,Tk,ldv) */, ldv: Int,
                               B: Int, Tq: Int, Tk: Int, NH: Int, hs: Int, scale: Float? = nil, causal: Bool,
                               keyPadding: UnsafePointer<UInt8>? = nil /* (B,Tk) */,
                               bias: UnsafePointer<Float>? = nil /* (NH,Tq,Tk) */,
                               dropout: Float = 0, seed: UInt64 = 0,
                               dropped: UnsafeMutablePointer<Float>? = nil /* (B,NH,Tq,Tk) */,
                               precision bf16: BF16Matmul? = nil) {
        let g = AttentionGeometry(B: B, Tq: Tq, Tk: Tk, NH: NH, hs: hs, ldq: ldq, ldk: ldk, ldv: ldv, scale: scale,
                                  causal: causal, dropout: dropout, dropped: dropped != nil, droppedFrom: "")
        if let bf16, bf16.attention {
            return forwardBF16(out: out, att: att, q: q, ldq: ldq, k: k, ldk: ldk, v: v, ldv: ldv, g, B: B, Tq: Tq, Tk: Tk, NH: NH, hs: hs,
                               causal: causal, keyPadding: keyPadding, bias: bias, dropout: dropout, seed: seed, dropped: dropped, bf16)
        }
        let D = g.D, scale = g.scale, block = g.block, shift = g.shift
        let rows = AttentionWeightRows(g, NH: NH, keyPadding: keyPadding, bias: bias, dropout: dropout, seed: seed, dropped: dropped)
        // sgemm with beta = 0 first clears C in a separate slow pass (OpenBLAS's beta kernel was 15% of
        // this kernel's time): clear with memset instead and let sgemm accumulate (beta = 1).
        VectorMath.zero(out, count: B * Tq * D)
        GEMM.withSingleThreadedBLAS {
            Parallel.chunks(B * NH) { pairs in
                for pair in pairs {
                    let b = pair / NH, h = pair % NH
                    let qh = q + b * Tq * ldq + h * hs, kh = k + b * Tk * ldk + h * hs, vh = v + b * Tk * ldv + h * hs
                    let a = att + pair * Tq * Tk
                    let o = out + b * Tq * D + h * hs
                    var i0 = 0
                    while i0 < Tq {
                        let i1 = min(Tq, i0 + block), cols = causal ? i1 + shift : Tk
                        (a + i0 * Tk).update(repeating: 0, count: (i1 - i0) * Tk)
                        GEMM.serial(transA: false, transB: true, M: i1 - i0, N: cols, K: hs, alpha: scale,
                                    A: qh + i0 * ldq, lda: ldq, B: kh, ldb: ldk, beta: 1, C: a + i0 * Tk, ldc: Tk)
                        for i in i0..<i1 { _ = rows.finish(a + i * Tk, pair: pair, i: i) }
                        let weights = UnsafePointer(rows.weights(a, pair: pair))
                        GEMM.serial(transA: false, transB: false, M: i1 - i0, N: hs, K: cols, alpha: 1,
                                    A: weights + i0 * Tk, lda: Tk, B: vh, ldb: ldv, beta: 1, C: o + i0 * D, ldc: D)
                        i0 = i1
                    }
                }
            }
        }
    }

    /// Accumulates dq, dk, dv (+=) and, with a bias, dbias (+=) from dout, using the probabilities
    /// saved by forward. `scratch` receives dS. The gradients use the strides of q, k, v.
    public static func backward(dq: UnsafeMutablePointer<Float> /* (B,Tq,ldq) += */,
                                dk: UnsafeMutablePointer<Float> /* (B,Tk,ldk) += */,
                                dv: UnsafeMutablePointer<Float> /* (B,Tk,ldv) += */,
                                dbias: UnsafeMutablePointer<Float>? = nil /* (NH,Tq,Tk) += */,
                                scratch: UnsafeMutablePointer<Float> /* (B,NH,Tq,Tk) dscores */,
                                dout: UnsafePointer<Float> /* (B,Tq,NH·hs) */,
                                q: UnsafePointer<Float> /* (B,Tq,ldq) */, ldq: Int,
                                k: UnsafePointer<Float> /* (B,Tk,ldk) */, ldk: Int,
                                v: UnsafePointer<Float> /* (B,Tk,ldv) */, ldv: Int,
                                att: UnsafePointer<Float> /* (B,NH,Tq,Tk) */,
                                B: Int, Tq: Int, Tk: Int, NH: Int, hs: Int, scale: Float? = nil, causal: Bool,
                                dropout: Float = 0, dropped: UnsafePointer<Float>? = nil /* (B,NH,Tq,Tk) */,
                                precision bf16: BF16Matmul? = nil) {
        let geometry = AttentionGeometry(B: B, Tq: Tq, Tk: Tk, NH: NH, hs: hs, ldq: ldq, ldk: ldk, ldv: ldv, scale: scale,
                                         causal: causal, dropout: dropout, dropped: dropped != nil, droppedFrom: " of forward")
        if let bf16, bf16.attention {
            backwardBF16(dq: dq, dk: dk, dv: dv, scratch: scratch, dout: dout, q: q, ldq: ldq, k: k, ldk: ldk, v: v, ldv: ldv, att: att,
                         geometry, B: B, Tq: Tq, Tk: Tk, NH: NH, hs: hs, causal: causal, dropout: dropout, dropped: dropped, bf16)
            if let dbias { accumulateBias(dbias, scratch, geometry, B: B, Tq: Tq, Tk: Tk, NH: NH, causal: causal) }
            return
        }
        let D = geometry.D, scale = geometry.scale, block = geometry.block, shift = geometry.shift
        let drop = dropout > 0 ? dropped : nil
        GEMM.withSingleThreadedBLAS {
            Parallel.chunks(B * NH) { pairs in
                for pair in pairs {
                    let b = pair / NH, h = pair % NH
                    let qh = q + b * Tq * ldq + h * hs, kh = k + b * Tk * ldk + h * hs, vh = v + b * Tk * ldv + h * hs
                    let dqh = dq + b * Tq * ldq + h * hs, dkh = dk + b * Tk * ldk + h * hs, dvh = dv + b * Tk * ldv + h * hs
                    let a = att + pair * Tq * Tk, ds = scratch + pair * Tq * Tk
                    let g = dout + b * Tq * D + h * hs
                    var i0 = 0
                    while i0 < Tq {
                        let i1 = min(Tq, i0 + block), cols = causal ? i1 + shift : Tk, rows = i1 - i0
                        // dP = dout·Vᵀ for this row block (cleared by memset, see forward).
                        for i in i0..<i1 { (ds + i * Tk).update(repeating: 0, count: cols) }
                        GEMM.serial(transA: false, transB: true, M: rows, N: cols, K: hs, alpha: 1,
                                    A: g + i0 * D, lda: D, B: vh, ldb: ldv, beta: 1, C: ds + i0 * Tk, ldc: Tk)
                        // dV[0..<cols] += W[i0..<i1, 0..<cols]ᵀ · dout[i0..<i1], W = P or its dropped form.
                        let weights = drop.map { $0 + pair * Tq * Tk } ?? a
                        GEMM.serial(transA: true, transB: false, M: cols, N: hs, K: rows, alpha: 1,
                                    A: weights + i0 * Tk, lda: Tk, B: g + i0 * D, ldb: D, beta: 1, C: dvh, ldc: ldv)
                        for i in i0..<i1 { backwardRow(ds + i * Tk, a + i * Tk, weights + i * Tk, i: i, cols: cols, geometry, dropped: drop != nil) }
                        GEMM.serial(transA: false, transB: false, M: rows, N: hs, K: cols, alpha: scale,
                                    A: ds + i0 * Tk, lda: Tk, B: kh, ldb: ldk, beta: 1, C: dqh + i0 * ldq, ldc: ldq)
                        GEMM.serial(transA: true, transB: false, M: cols, N: hs, K: rows, alpha: scale,
                                    A: ds + i0 * Tk, lda: Tk, B: qh + i0 * ldq, ldb: ldq, beta: 1, C: dkh, ldc: ldk)
                        i0 = i1
                    }
                }
            }
        }
        if let dbias { accumulateBias(dbias, scratch, geometry, B: B, Tq: Tq, Tk: Tk, NH: NH, causal: causal) }
    }

    /// One row of the scores' gradient, in place: with dropout dP·M/(1−p) (M read from the dropped
    /// weights `w`), then the softmax backward (see `softmaxBackwardRow`).
    @inline(__always)
    static func backwardRow(_ ds: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ w: UnsafePointer<Float>, i: Int, cols: Int,
                            _ g: AttentionGeometry, dropped: Bool) {
        if dropped {
            for j in 0..<cols { ds[j] = w[j] != 0 ? ds[j] * g.keepScale : 0 }
        }
        softmaxBackwardRow(ds, p, valid: g.causal ? i + 1 + g.shift : g.Tk, cols: cols)
    }

    /// dbias[h, i, j] += Σ_b dS[b, h, i, j]: parallel over (h, i) rows, so no two threads share a row;
    /// only the columns a row can see were written for it (the rest of a causal row is stale).
    static func accumulateBias(_ dbias: UnsafeMutablePointer<Float>, _ scratch: UnsafePointer<Float>, _ g: AttentionGeometry,
                               B: Int, Tq: Int, Tk: Int, NH: Int, causal: Bool) {
        Parallel.chunks(NH * Tq, minChunk: 8) { rows in
            for row in rows {
                let h = row / Tq, i = row % Tq, valid = causal ? i + 1 + g.shift : Tk
                for b in 0..<B { VectorMath.accumulate(dbias + row * Tk, scratch + ((b * NH + h) * Tq + i) * Tk, count: valid) }
            }
        }
    }

    /// `forward` over a fused qkv buffer (B,T,3C) with hs = C/NH (GPT's c_attn, BERT's q|k|v).
    public static func forward(out: UnsafeMutablePointer<Float> /* (B,T,C) */,
                               att: UnsafeMutablePointer<Float> /* (B,NH,T,T) */,
                               qkv: UnsafePointer<Float> /* (B,T,3C) */,
                               B: Int, T: Int, C: Int, NH: Int, causal: Bool,
                               keyPadding: UnsafePointer<UInt8>? = nil /* (B,T) */,
                               dropout: Float = 0, seed: UInt64 = 0,
                               dropped: UnsafeMutablePointer<Float>? = nil /* (B,NH,T,T) */) {
        precondition(NH > 0 && C % NH == 0, "bad attention shape")
        forward(out: out, att: att, q: qkv, ldq: 3 * C, k: qkv + C, ldk: 3 * C, v: qkv + 2 * C, ldv: 3 * C,
                B: B, Tq: T, Tk: T, NH: NH, hs: C / NH, causal: causal, keyPadding: keyPadding,
                dropout: dropout, seed: seed, dropped: dropped)
    }

    /// `backward` over a fused qkv buffer: accumulates dqkv (B,T,3C) (+=).
    public static func backward(dqkv: UnsafeMutablePointer<Float> /* (B,T,3C) += */,
                                scratch: UnsafeMutablePointer<Float> /* (B,NH,T,T) dscores */,
                                dout: UnsafePointer<Float> /* (B,T,C) */,
                                qkv: UnsafePointer<Float> /* (B,T,3C) */,
                                att: UnsafePointer<Float> /* (B,NH,T,T) */,
                                B: Int, T: Int, C: Int, NH: Int, causal: Bool,
                                keyPadding: UnsafePointer<UInt8>? = nil /* (B,T), unused: att holds the mask */,
                                dropout: Float = 0, dropped: UnsafePointer<Float>? = nil /* (B,NH,T,T) */) {
        precondition(NH > 0 && C % NH == 0, "bad attention shape")
        backward(dq: dqkv, dk: dqkv + C, dv: dqkv + 2 * C, scratch: scratch, dout: dout,
                 q: qkv, ldq: 3 * C, k: qkv + C, ldk: 3 * C, v: qkv + 2 * C, ldv: 3 * C, att: att,
                 B: B, Tq: T, Tk: T, NH: NH, hs: C / NH, causal: causal, dropout: dropout, dropped: dropped)
    }

    /// In-place masked softmax of one row of scores: columns < `valid` whose key is not padding take
    /// part; every other column of the T becomes 0. An all-masked row becomes all zeros.
    ///
    /// The vector loops run to `valid` rounded up to 16 when that stays inside the row: the extra
    /// columns are set to −∞ first (they are zeroed at the end anyway), so there are no per-lane tails.
    @inline(__always)
    static func softmaxRow(_ s: UnsafeMutablePointer<Float>, valid: Int, T: Int, pad: UnsafePointer<UInt8>?) {
        if let pad {
            for j in 0..<valid where pad[j] == 0 { s[j] = -Float.infinity }
        }
        var end = (valid + 15) & ~15
        if end <= T {
            for j in valid..<end { s[j] = -Float.infinity }
        } else {
            end = valid & ~15
        }
        var mx = SIMD16<Float>(repeating: -Float.infinity)
        var j = 0
        while j < end { let x = s.load16(j); mx.replace(with: x, where: mx .< x); j += 16 }
        var m = mx.laneMax
        for k in end..<max(end, valid) where s[k] > m { m = s[k] }
        if m == -Float.infinity {   // every key masked
            s.update(repeating: 0, count: T)
            return
        }
        let mv = SIMD16<Float>(repeating: m)
        var acc = SIMD16<Float>()
        j = 0
        while j < end { let e = FastMath.exp(s.load16(j) - mv); s.store16(j, e); acc += e; j += 16 }
        var sum = acc.laneSum
        for k in end..<max(end, valid) {
            let e = FastMath.exp(SIMD16<Float>(repeating: s[k] - m))[0]
            s[k] = e
            sum += e
        }
        let inv = 1 / sum
        let iv = SIMD16<Float>(repeating: inv)
        j = 0
        while j < end { s.store16(j, s.load16(j) * iv); j += 16 }
        for k in end..<max(end, valid) { s[k] *= inv }
        if let pad {
            for j in 0..<valid where pad[j] == 0 { s[j] = 0 }
        }
        if valid < T { (s + valid).update(repeating: 0, count: T - valid) }
    }

    /// One row of the softmax backward, in place: ds[j] = p[j]·(ds[j] − Σ_k p[k]·ds[k]) for j < valid,
    /// and ds[j] = 0 for valid ≤ j < cols (columns a block's sgemm reads but the row cannot see).
    ///
    /// p is 0 from `valid` on, so the vector loops may run to `valid` rounded up to 16 while that stays
    /// within the `cols` columns the block's sgemm wrote.
    @inline(__always)
    static func softmaxBackwardRow(_ ds: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, valid: Int, cols: Int) {
        var end = (valid + 15) & ~15
        if end > cols { end = valid & ~15 }
        var acc = SIMD16<Float>()
        var j = 0
        while j < end { acc = acc.addingProduct(p.load16(j), ds.load16(j)); j += 16 }
        var dot = acc.laneSum
        for k in end..<max(end, valid) { dot += p[k] * ds[k] }
        let dv = SIMD16<Float>(repeating: dot)
        j = 0
        while j < end { ds.store16(j, p.load16(j) * (ds.load16(j) - dv)); j += 16 }
        for k in end..<max(end, valid) { ds[k] = p[k] * (ds[k] - dot) }
        let zeroFrom = max(end, valid)
        if zeroFrom < cols { (ds + zeroFrom).update(repeating: 0, count: cols - zeroFrom) }
    }
}
