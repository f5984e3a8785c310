import Foundation
import Support

// Fused softmax + cross-entropy over the vocabulary, with ignore-index targets and label smoothing.
//
// Shapes:
//   N rows (= B·T), V vocabulary size
//   logits, probs, dlogits (N,V)    targets (N) Int32    losses (N)
//
// With lse = log Σ_j e^{z_j} and ε the label smoothing (PyTorch `cross_entropy(label_smoothing: ε)`):
//   loss = (1 − ε)·(lse − z_t) + ε·(lse − mean_j z_j)       (= (1 − ε)·nll + ε·mean_j(−log p_j))
//   dloss/dz_j = p_j − (1 − ε)·[j = t] − ε/V
// Rows whose target is `ignoreIndex` have loss 0 and gradient 0.

/// Softmax cross-entropy over logits, fused: per L1-sized block a max/Σz pass and an exp pass, then
/// one pass to normalise.
public enum CrossEntropy {
    /// Writes per-row losses and the softmax probabilities; returns the sum of losses over rows whose
    /// target is not `ignoreIndex` (in Double, summed in row order) and how many such rows there are.
    /// Probabilities are written for every row, ignored ones included. `probs` may be the same buffer
    /// as `logits` (the model computes the softmax in place).
    public static func forward(losses: UnsafeMutablePointer<Float> /* (N) */,
                               probs: UnsafeMutablePointer<Float> /* (N,V) */,
                               logits: UnsafePointer<Float> /* (N,V) */,
                               targets: UnsafePointer<Int32> /* (N) */,
                               N: Int, V: Int, ignoreIndex: Int32 = -100,
                               labelSmoothing: Float = 0) -> (sum: Double, count: Int) {
        precondition(N >= 0 && V > 0, "bad cross-entropy shape")
        precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing must be in [0, 1]")
        let eps = Double(labelSmoothing)
        // Rows are processed in column blocks of `blk` (≤ 64 blocks per row): each block's max pass
        // brings it into L1 and its exp pass reuses it there, so logits are read from memory once.
        // Block sums are combined with their maxima at the end: Σ_k s_k·e^{m_k − M}.
        let blk = max(2048, ((V + 63) / 64 + 15) & ~15)
        Parallel.chunks(N, minChunk: 4) { rows in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { maxBuf in
                withUnsafeTemporaryAllocation(of: Double.self, capacity: 64) { sumBuf in
                    let bmax = maxBuf.baseAddress!, bsum = sumBuf.baseAddress!
                    for n in rows {
                        let z = logits + n * V, p = probs + n * V
                        // Read the target logit before the row is overwritten: `probs` may alias `logits`.
                        let t = targets[n]
                        precondition(t == ignoreIndex || (t >= 0 && Int(t) < V), "target out of range")
                        let zt = t == ignoreIndex ? 0 : Double(z[Int(t)])
                        var zsum = 0.0, blocks = 0, start = 0
                        var mx = -Float.infinity
                        while start < V {
                            let len = min(blk, V - start)
                            let (m, s) = maxAndSum(z + start, len)
                            bsum[blocks] = expAndSum(p + start, z + start, len, m)
                            bmax[blocks] = m
                            if m > mx { mx = m }
                            zsum += s
                            blocks += 1
                            start += len
                        }
                        var esum = 0.0
                        for k in 0..<blocks { esum += bsum[k] * Foundation.exp(Double(bmax[k] - mx)) }
                        start = 0
                        for k in 0..<blocks {
                            let len = min(blk, V - start)
                            scale(p + start, len, by: Float(Foundation.exp(Double(bmax[k] - mx)) / esum))
                            start += len
                        }
                        if t == ignoreIndex { losses[n] = 0; continue }
                        let lse = Double(mx) + Foundation.log(esum)
                        let nll = lse - zt
                        losses[n] = Float((1 - eps) * nll + eps * (lse - zsum / Double(V)))
                    }
                }
            }
        }
        var sum = 0.0, count = 0
        for n in 0..<N where targets[n] != ignoreIndex {
            sum += Double(losses[n])
            count += 1
        }
        return (sum, count)
    }

    /// dlogits = scale·(probs − (1 − ε)·onehot(target) − ε/V); rows with `ignoreIndex` get 0.
    ///
    /// Unlike every other backward here this WRITES dlogits rather than accumulating, and `dlogits` may
    /// be the same buffer as `probs` (the model reuses the (N,V) buffer in place).
    public static func backward(dlogits: UnsafeMutablePointer<Float> /* (N,V) written, may alias probs */,
                                probs: UnsafePointer<Float> /* (N,V) */,
                                targets: UnsafePointer<Int32> /* (N) */,
                                scale: Float, N: Int, V: Int, ignoreIndex: Int32 = -100,
                                labelSmoothing: Float = 0) {
        precondition(N >= 0 && V > 0, "bad cross-entropy shape")
        let sv = SIMD16<Float>(repeating: scale)
        let offset = labelSmoothing / Float(V)
        let ov = SIMD16<Float>(repeating: offset)
        Parallel.chunks(N, minChunk: 4) { rows in
            for n in rows {
                let p = probs + n * V, d = dlogits + n * V
                let t = targets[n]
                if t == ignoreIndex { d.update(repeating: 0, count: V); continue }
                precondition(t >= 0 && Int(t) < V, "target out of range")
                let pt = p[Int(t)]   // read before a possibly aliased write
                var j = 0
                while j + 16 <= V { d.store16(j, (p.load16(j) - ov) * sv); j += 16 }
                while j < V { d[j] = (p[j] - offset) * scale; j += 1 }
                d[Int(t)] = (pt - offset - (1 - labelSmoothing)) * scale
            }
        }
    }

    /// max_j z_j and Σ_j z_j of one block (Float SIMD; the sum returned in Double).
    @inline(__always)
    static func maxAndSum(_ z: UnsafePointer<Float>, _ n: Int) -> (Float, Double) {
        var mx = SIMD16<Float>(repeating: -Float.infinity)
        var acc = SIMD16<Float>()
        var j = 0
        while j + 16 <= n {
            let x = z.load16(j)
            mx.replace(with: x, where: mx .< x)
            acc += x
            j += 16
        }
        var s = acc.laneSum
        var m = mx.laneMax
        while j < n { s += z[j]; if z[j] > m { m = z[j] }; j += 1 }
        return (m, Double(s))
    }

    /// p_j = e^{z_j − mx} over one block (p may be z); returns Σ_j p_j in Double.
    @inline(__always)
    static func expAndSum(_ p: UnsafeMutablePointer<Float>, _ z: UnsafePointer<Float>, _ n: Int, _ mx: Float) -> Double {
        let mv = SIMD16<Float>(repeating: mx)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        var j = 0
        while j + 32 <= n {
            let e0 = FastMath.exp(z.load16(j) - mv), e1 = FastMath.exp(z.load16(j + 16) - mv)
            p.store16(j, e0)
            p.store16(j + 16, e1)
            a0 += e0
            a1 += e1
            j += 32
        }
        while j + 16 <= n { let e = FastMath.exp(z.load16(j) - mv); p.store16(j, e); a0 += e; j += 16 }
        var s = (a0 + a1).laneSum
        while j < n { let e = FastMath.exp(SIMD16<Float>(repeating: z[j] - mx))[0]; p[j] = e; s += e; j += 1 }
        return Double(s)
    }

    /// x[0..<n] *= f.
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, _ n: Int, by f: Float) {
        let fv = SIMD16<Float>(repeating: f)
        var j = 0
        while j + 16 <= n { x.store16(j, x.load16(j) * fv); j += 16 }
        while j < n { x[j] *= f; j += 1 }
    }
}
