import Foundation
import Kernels

/// Double-precision reference for `Attention`: plain loops over (b, h, i, j), llm.c style.
///
/// Shapes: B batch, Tq query and Tk key positions, NH heads, hs head size, D = NH·hs; q (B,Tq,D),
/// k and v (B,Tk,D) contiguous; att (B,NH,Tq,Tk); bias (NH,Tq,Tk); keyPadding (B,Tk).
/// A causal query i sees keys j ≤ i + (Tk − Tq), as the kernel.
public enum AttentionReference {
    /// Returns out (B,Tq,D) and the probabilities att (B,NH,Tq,Tk). With `dropout` > 0 the output uses
    /// P∘M/(1−p), M from `Dropout.keeps(seed:index:p:)` at index pair·Tq·Tk + i·Tk + j; `att` is P itself.
    public static func forward(q: [Double], k: [Double], v: [Double], B: Int, Tq: Int, Tk: Int, NH: Int, hs: Int,
                               scale: Double? = nil, causal: Bool, keyPadding: [UInt8]? = nil, bias: [Double]? = nil,
                               dropout: Float = 0, seed: UInt64 = 0) -> (out: [Double], att: [Double]) {
        let D = NH * hs, shift = Tk - Tq
        let scale = scale ?? 1 / Double(hs).squareRoot()
        var out = [Double](repeating: 0, count: B * Tq * D)
        var att = [Double](repeating: 0, count: B * NH * Tq * Tk)
        for b in 0..<B {
            for h in 0..<NH {
                for i in 0..<Tq {
                    let arow = ((b * NH + h) * Tq + i) * Tk
                    var scores = [Double?](repeating: nil, count: Tk)
                    for j in 0..<Tk {
                        if causal && j > i + shift { continue }
                        if let kp = keyPadding, kp[b * Tk + j] == 0 { continue }
                        var s = 0.0
                        for d in 0..<hs { s += q[(b * Tq + i) * D + h * hs + d] * k[(b * Tk + j) * D + h * hs + d] }
                        scores[j] = s * scale + (bias?[(h * Tq + i) * Tk + j] ?? 0)
                    }
                    let present = scores.compactMap { $0 }
                    guard let mx = present.max() else { continue }   // all masked: zeros
                    var sum = 0.0
                    for j in 0..<Tk { if let s = scores[j] { sum += Foundation.exp(s - mx) } }
                    for j in 0..<Tk { if let s = scores[j] { att[arow + j] = Foundation.exp(s - mx) / sum } }
                    for d in 0..<hs {
                        var o = 0.0
                        for j in 0..<Tk { o += att[arow + j] * keep(dropout, seed, arow + j) * v[(b * Tk + j) * D + h * hs + d] }
                        out[(b * Tq + i) * D + h * hs + d] = o
                    }
                }
            }
        }
        return (out, att)
    }

    /// Returns dq (B,Tq,D), dk, dv (B,Tk,D) and dbias (NH,Tq,Tk, summed over the batch) for the given
    /// dout (recomputes the probabilities).
    public static func backward(dout: [Double], q: [Double], k: [Double], v: [Double], B: Int, Tq: Int, Tk: Int,
                                NH: Int, hs: Int, scale: Double? = nil, causal: Bool, keyPadding: [UInt8]? = nil,
                                bias: [Double]? = nil, dropout: Float = 0, seed: UInt64 = 0)
        -> (dq: [Double], dk: [Double], dv: [Double], dbias: [Double]) {
        let D = NH * hs
        let scale = scale ?? 1 / Double(hs).squareRoot()
        let att = forward(q: q, k: k, v: v, B: B, Tq: Tq, Tk: Tk, NH: NH, hs: hs, scale: scale, causal: causal,
                          keyPadding: keyPadding, bias: bias).att
        var dq = [Double](repeating: 0, count: B * Tq * D)
        var dk = [Double](repeating: 0, count: B * Tk * D), dv = dk
        var dbias = [Double](repeating: 0, count: NH * Tq * Tk)
        for b in 0..<B {
            for h in 0..<NH {
                for i in 0..<Tq {
                    let arow = ((b * NH + h) * Tq + i) * Tk
                    // dP[j] = dout_i · v_j, and dv_j += P[i,j]·dout_i
                    var dp = [Double](repeating: 0, count: Tk)
                    for j in 0..<Tk {
                        let m = keep(dropout, seed, arow + j)
                        for d in 0..<hs {
                            let g = dout[(b * Tq + i) * D + h * hs + d]
                            dp[j] += g * v[(b * Tk + j) * D + h * hs + d] * m
                            dv[(b * Tk + j) * D + h * hs + d] += att[arow + j] * m * g
                        }
                    }
                    var dot = 0.0
                    for j in 0..<Tk { dot += att[arow + j] * dp[j] }
                    for j in 0..<Tk {
                        let dscore = att[arow + j] * (dp[j] - dot)
                        dbias[(h * Tq + i) * Tk + j] += dscore
                        let ds = dscore * scale
                        if ds == 0 { continue }
                        for d in 0..<hs {
                            dq[(b * Tq + i) * D + h * hs + d] += ds * k[(b * Tk + j) * D + h * hs + d]
                            dk[(b * Tk + j) * D + h * hs + d] += ds * q[(b * Tq + i) * D + h * hs + d]
                        }
                    }
                }
            }
        }
        return (dq, dk, dv, dbias)
    }

    /// Splits a fused qkv (B,T,3C) into contiguous q, k, v (B,T,C).
    public static func split(_ qkv: [Double], C: Int) -> (q: [Double], k: [Double], v: [Double]) {
        let rows = qkv.count / (3 * C)
        var q: [Double] = [], k: [Double] = [], v: [Double] = []
        for r in 0..<rows {
            let base: Int = r * 3 * C
            q.append(contentsOf: qkv[base..<(base + C)])
            k.append(contentsOf: qkv[(base + C)..<(base + 2 * C)])
            v.append(contentsOf: qkv[(base + 2 * C)..<(base + 3 * C)])
        }
        return (q, k, v)
    }

    /// Fused-qkv form (hs = C/NH, Tq = Tk = T): returns out (B,T,C) and att (B,NH,T,T).
    public static func forward(qkv: [Double], B: Int, T: Int, C: Int, NH: Int, causal: Bool, keyPadding: [UInt8]? = nil,
                               dropout: Float = 0, seed: UInt64 = 0) -> (out: [Double], att: [Double]) {
        let (q, k, v) = split(qkv, C: C)
        return forward(q: q, k: k, v: v, B: B, Tq: T, Tk: T, NH: NH, hs: C / NH, causal: causal, keyPadding: keyPadding,
                       dropout: dropout, seed: seed)
    }

    /// Fused-qkv form: returns dqkv (B,T,3C) for the given dout.
    public static func backward(dout: [Double], qkv: [Double], B: Int, T: Int, C: Int, NH: Int, causal: Bool,
                                keyPadding: [UInt8]? = nil, dropout: Float = 0, seed: UInt64 = 0) -> [Double] {
        let (q, k, v) = split(qkv, C: C)
        let g = backward(dout: dout, q: q, k: k, v: v, B: B, Tq: T, Tk: T, NH: NH, hs: C / NH, causal: causal,
                         keyPadding: keyPadding, dropout: dropout, seed: seed)
        var dqkv: [Double] = []
        for r in 0..<(B * T) {
            let base: Int = r * C
            dqkv.append(contentsOf: g.dq[base..<(base + C)])
            dqkv.append(contentsOf: g.dk[base..<(base + C)])
            dqkv.append(contentsOf: g.dv[base..<(base + C)])
        }
        return dqkv
    }

    /// The dropout factor of attention weight `index`: 0 if dropped, 1/(1 − p) if kept, 1 without dropout.
    static func keep(_ p: Float, _ seed: UInt64, _ index: Int) -> Double {
        guard p > 0 else { return 1 }
        return Dropout.keeps(seed: seed, index: UInt64(index), p: p) ? 1 / (1 - Double(p)) : 0
    }
}
