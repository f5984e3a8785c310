import Foundation
import Support

// Multi-head scaled dot-product attention over a fused qkv buffer.
//
// Shapes:
//   B batch, T time, C channels, NH heads, hs = C/NH head size
//   qkv, dqkv (B,T,3C): q | k | v side by side along the last dim; head h of q is columns
//                       [h·hs, (h+1)·hs), of k [C + h·hs, ...), of v [2C + h·hs, ...) (HF GPT-2 c_attn)
//   out, dout (B,T,C): head h in columns [h·hs, (h+1)·hs)
//   att (B,NH,T,T): softmax probabilities (0 where masked), saved for backward
//   scratch (B,NH,T,T): dscores in backward
//   keyPadding (B,T) bytes, optional: 0 = that key is padding and never attended
//   dropped (B,NH,T,T), optional: P∘M/(1−p), the attention weights after dropout (M from Dropout's
//           counter-based stream at index pair·T·T + i·T + j), used for P·V; `att` keeps P itself
//
// Per (b,h), with Q, K, V the (T,hs) strided views into qkv (row stride 3C, no copies):
//   S = Q·Kᵀ/√hs (masked: j > i when causal, padded keys), P = softmax_rows(S), out = P·V
// Backward: dP = dout·Vᵀ, dV += Pᵀ·dout, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ += dS·K/√hs, dK += dSᵀ·Q/√hs
// With attention dropout, out = D·V for D = P∘M/(1−p): dV += Dᵀ·dout and dP = (dout·Vᵀ)∘M/(1−p), where
// M is read back as D ≠ 0 (a kept probability is never 0 except where the key is masked, and there
// dS = P·(…) = 0 anyway).
//
// A row whose keys are all masked (possible only with key padding) gets all-zero probabilities and a
// zero output (PyTorch would produce NaN there).

/// Multi-head scaled dot-product attention, causal or bidirectional, with optional key padding.
///
/// Work is parallel across the B·NH (batch, head) pairs with OpenBLAS single-threaded inside: each pair's
/// T×T block stays in its core's L2. Causal attention is computed in blocks of `rowBlock` query rows
/// that only multiply the key columns they can see, which skips most of the masked upper triangle.
public enum Attention {
    /// Query rows per block in causal attention (tuned with KernelBench: 64 at T = 256).
    public nonisolated(unsafe) static var rowBlock = 64

    /// out = softmax(mask(Q·Kᵀ/√hs))·V per head; saves the probabilities in `att`.
    public static func forward(out: UnsafeMutablePointer<Float> /* (B,T,C) */,
                               att: UnsafeMutablePointer<Float> /* (B,NH,T,T) */,
                               qkv: UnsafePointer<Float> /* (B,T,3C) */,
                               B: Int, T: Int, C: Int, NH: Int, causal: Bool,
                               keyPadding: UnsafePointer<UInt8>? = nil /* (B,T) */,
                               dropout: Float = 0, seed: UInt64 = 0,
                               dropped: UnsafeMutablePointer<Float>? = nil /* (B,NH,T,T) */) {
        precondition(B >= 0 && T > 0 && NH > 0 && C % NH == 0, "bad attention shape")
        precondition(dropout == 0 || dropped != nil, "attention dropout needs the `dropped` buffer")
        let hs = C / NH, C3 = 3 * C
        let scale = 1 / Float(hs).squareRoot()
        let block = causal ? max(1, rowBlock) : T
        let drop = dropout > 0 ? dropped : nil
        let threshold = Dropout.threshold(dropout), keys = Dropout.keys(seed)
        let keepScale: Float = dropout < 1 ? 1 / (1 - dropout) : 0
        // sgemm with beta = 0 first clears C in a separate slow pass (OpenBLAS's beta kernel was 15% of
        // this kernel's time): clear with memset instead and let sgemm accumulate (beta = 1).
        VectorMath.zero(out, count: B * T * C)
        GEMM.withSingleThreadedBLAS {
            Parallel.chunks(B * NH) { pairs in
                for pair in pairs {
                    let b = pair / NH, h = pair % NH
                    let q = qkv + b * T * C3 + h * hs, k = q + C, v = q + 2 * C
                    let a = att + pair * T * T
                    let o = out + b * T * C + h * hs
                    let pad = keyPadding.map { $0 + b * T }
                    var i0 = 0
                    while i0 < T {
                        let i1 = min(T, i0 + block), cols = causal ? i1 : T
                        (a + i0 * T).update(repeating: 0, count: (i1 - i0) * T)
                        GEMM.serial(transA: false, transB: true, M: i1 - i0, N: cols, K: hs, alpha: scale,
                                    A: q + i0 * C3, lda: C3, B: k, ldb: C3, beta: 1, C: a + i0 * T, ldc: T)
                        for i in i0..<i1 { softmaxRow(a + i * T, valid: causal ? i + 1 : T, T: T, pad: pad) }
                        var weights = UnsafePointer(a)
                        if let drop {
                            let d = drop + pair * T * T
                            for i in i0..<i1 {
                                for j in 0..<T {
                                    let index = UInt64(pair * T * T + i * T + j)
                                    d[i * T + j] = j < cols && Dropout.keeps(index: index, threshold: threshold, keys) ? a[i * T + j] * keepScale : 0
                                }
                            }
                            weights = UnsafePointer(d)
                        }
                        GEMM.serial(transA: false, transB: false, M: i1 - i0, N: hs, K: cols, alpha: 1,
                                    A: weights + i0 * T, lda: T, B: v, ldb: C3, beta: 1, C: o + i0 * C, ldc: C)
                        i0 = i1
                    }
                }
            }
        }
    }

    /// Accumulates dqkv (+=) from dout, using the probabilities saved by forward. `scratch` receives dS.
    public static func backward(dqkv: UnsafeMutablePointer<Float> /* (B,T,3C) += */,
                                scratch: UnsafeMutablePointer<Float> /* (B,NH,T,T) dscores */,
                                dout: UnsafePointer<Float> /* (B,T,C) */,
                                qkv: UnsafePointer<Float> /* (B,T,3C) */,
                                att: UnsafePointer<Float> /* (B,NH,T,T) */,
                                B: Int, T: Int, C: Int, NH: Int, causal: Bool,
                                keyPadding: UnsafePointer<UInt8>? = nil /* (B,T) */,
                                dropout: Float = 0, dropped: UnsafePointer<Float>? = nil /* (B,NH,T,T) */) {
        precondition(B >= 0 && T > 0 && NH > 0 && C % NH == 0, "bad attention shape")
        precondition(dropout == 0 || dropped != nil, "attention dropout needs the `dropped` buffer of forward")
        let hs = C / NH, C3 = 3 * C
        let scale = 1 / Float(hs).squareRoot()
        let block = causal ? max(1, rowBlock) : T
        let drop = dropout > 0 ? dropped : nil
        let keepScale: Float = dropout < 1 ? 1 / (1 - dropout) : 0
        GEMM.withSingleThreadedBLAS {
            Parallel.chunks(B * NH) { pairs in
                for pair in pairs {
                    let b = pair / NH, h = pair % NH
                    let q = qkv + b * T * C3 + h * hs, k = q + C, v = q + 2 * C
                    let dq = dqkv + b * T * C3 + h * hs, dk = dq + C, dv = dq + 2 * C
                    let a = att + pair * T * T, ds = scratch + pair * T * T
                    let g = dout + b * T * C + h * hs
                    var i0 = 0
                    while i0 < T {
                        let i1 = min(T, i0 + block), cols = causal ? i1 : T, rows = i1 - i0
                        // dP = dout·Vᵀ for this row block (cleared by memset, see forward).
                        for i in i0..<i1 { (ds + i * T).update(repeating: 0, count: cols) }
                        GEMM.serial(transA: false, transB: true, M: rows, N: cols, K: hs, alpha: 1,
                                    A: g + i0 * C, lda: C, B: v, ldb: C3, beta: 1, C: ds + i0 * T, ldc: T)
                        // dV[0..<cols] += W[i0..<i1, 0..<cols]ᵀ · dout[i0..<i1], W = P or its dropped form.
                        let weights = drop.map { $0 + pair * T * T } ?? a
                        GEMM.serial(transA: true, transB: false, M: cols, N: hs, K: rows, alpha: 1,
                                    A: weights + i0 * T, lda: T, B: g + i0 * C, ldb: C, beta: 1, C: dv, ldc: C3)
                        if drop != nil {
                            for i in i0..<i1 {
                                for j in 0..<cols { ds[i * T + j] = weights[i * T + j] != 0 ? ds[i * T + j] * keepScale : 0 }
                            }
                        }
                        for i in i0..<i1 {
                            softmaxBackwardRow(ds + i * T, a + i * T, valid: causal ? i + 1 : T, cols: cols)
                        }
                        GEMM.serial(transA: false, transB: false, M: rows, N: hs, K: cols, alpha: scale,
                                    A: ds + i0 * T, lda: T, B: k, ldb: C3, beta: 1, C: dq + i0 * C3, ldc: C3)
                        GEMM.serial(transA: true, transB: false, M: cols, N: hs, K: rows, alpha: scale,
                                    A: ds + i0 * T, lda: T, B: q + i0 * C3, ldb: C3, beta: 1, C: dk, ldc: C3)
                        i0 = i1
                    }
                }
            }
        }
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

/// Double-precision reference for `Attention`: plain loops over (b, h, i, j), llm.c style.
public enum AttentionReference {
    /// Returns out (B,T,C) and the probabilities att (B,NH,T,T).
    /// With `dropout` > 0 the output uses P∘M/(1−p), M from `Dropout.keeps(seed:index:p:)` at index
    /// pair·T·T + i·T + j; `att` is P itself.
    public static func forward(qkv: [Double], B: Int, T: Int, C: Int, NH: Int, causal: Bool, keyPadding: [UInt8]? = nil,
                               dropout: Float = 0, seed: UInt64 = 0)
        -> (out: [Double], att: [Double]) {
        let hs = C / NH, C3 = 3 * C
        let scale = 1 / Double(hs).squareRoot()
        var out = [Double](repeating: 0, count: B * T * C)
        var att = [Double](repeating: 0, count: B * NH * T * T)
        for b in 0..<B {
            for h in 0..<NH {
                for i in 0..<T {
                    let arow = ((b * NH + h) * T + i) * T
                    var scores = [Double?](repeating: nil, count: T)
                    for j in 0..<T {
                        if causal && j > i { continue }
                        if let kp = keyPadding, kp[b * T + j] == 0 { continue }
                        var s = 0.0
                        for d in 0..<hs { s += qkv[(b * T + i) * C3 + h * hs + d] * qkv[(b * T + j) * C3 + C + h * hs + d] }
                        scores[j] = s * scale
                    }
                    let present = scores.compactMap { $0 }
                    guard let mx = present.max() else { continue }   // all masked: zeros
                    var sum = 0.0
                    for j in 0..<T { if let s = scores[j] { sum += Foundation.exp(s - mx) } }
                    for j in 0..<T { if let s = scores[j] { att[arow + j] = Foundation.exp(s - mx) / sum } }
                    for d in 0..<hs {
                        var o = 0.0
                        for j in 0..<T { o += att[arow + j] * keep(dropout, seed, arow + j) * qkv[(b * T + j) * C3 + 2 * C + h * hs + d] }
                        out[(b * T + i) * C + h * hs + d] = o
                    }
                }
            }
        }
        return (out, att)
    }

    /// Returns dqkv (B,T,3C) for the given dout (recomputes the probabilities).
    public static func backward(dout: [Double], qkv: [Double], B: Int, T: Int, C: Int, NH: Int, causal: Bool,
                                keyPadding: [UInt8]? = nil, dropout: Float = 0, seed: UInt64 = 0) -> [Double] {
        let hs = C / NH, C3 = 3 * C
        let scale = 1 / Double(hs).squareRoot()
        let att = forward(qkv: qkv, B: B, T: T, C: C, NH: NH, causal: causal, keyPadding: keyPadding).att
        var dqkv = [Double](repeating: 0, count: B * T * C3)
        for b in 0..<B {
            for h in 0..<NH {
                for i in 0..<T {
                    let arow = ((b * NH + h) * T + i) * T
                    // dP[j] = dout_i · v_j, and dv_j += P[i,j]·dout_i
                    var dp = [Double](repeating: 0, count: T)
                    for j in 0..<T {
                        for d in 0..<hs {
                            let g = dout[(b * T + i) * C + h * hs + d]
                            let m = keep(dropout, seed, arow + j)
                            dp[j] += g * qkv[(b * T + j) * C3 + 2 * C + h * hs + d] * m
                            dqkv[(b * T + j) * C3 + 2 * C + h * hs + d] += att[arow + j] * m * g
                        }
                    }
                    var dot = 0.0
                    for j in 0..<T { dot += att[arow + j] * dp[j] }
                    for j in 0..<T {
                        let ds = att[arow + j] * (dp[j] - dot) * scale
                        if ds == 0 { continue }
                        for d in 0..<hs {
                            dqkv[(b * T + i) * C3 + h * hs + d] += ds * qkv[(b * T + j) * C3 + C + h * hs + d]
                            dqkv[(b * T + j) * C3 + C + h * hs + d] += ds * qkv[(b * T + i) * C3 + h * hs + d]
                        }
                    }
                }
            }
        }
        return dqkv
    }

    /// The dropout factor of attention weight `index`: 0 if dropped, 1/(1 − p) if kept, 1 without dropout.
    static func keep(_ p: Float, _ seed: UInt64, _ index: Int) -> Double {
        guard p > 0 else { return 1 }
        return Dropout.keeps(seed: seed, index: UInt64(index), p: p) ? 1 / (1 - Double(p)) : 0
    }
}
