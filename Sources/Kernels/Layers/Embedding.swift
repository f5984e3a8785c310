import Foundation
import Support

// Token + position embedding.
//
// Shapes:
//   B batch, T time (sequence length), C channels, V vocabulary size, P position-table rows (P ≥ T)
//   tokens (B,T) Int32 in [0,V)    wte (V,C)    wpe (P,C)    out, dout (B,T,C)

/// Token and position embeddings: out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:].
public enum Embedding {
    /// out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]. Parallel over the B·T rows.
    ///
    /// `V` (optional) is only used to check token ids; ids must be in [0, V).
    public static func forward(out: UnsafeMutablePointer<Float> /* (B,T,C) */,
                               tokens: UnsafePointer<Int32> /* (B,T) */,
                               wte: UnsafePointer<Float> /* (V,C) */,
                               wpe: UnsafePointer<Float> /* (P,C) learned, or a fixed table */,
                               B: Int, T: Int, C: Int, V: Int = Int(Int32.max)) {
        precondition(B >= 0 && T >= 0 && C > 0, "bad embedding shape")
        let N = B * T
        Parallel.chunks(N, minChunk: 64) { rows in
            for n in rows {
                let tok = Int(tokens[n])
                precondition(tok >= 0 && tok < V, "token id out of range")
                let t = n % T
                add(out + n * C, wte + tok * C, wpe + t * C, C)
            }
        }
    }

    /// out[n,:] = wte[tokens[n],:] for N rows: token embeddings without positions (T5's shared table).
    public static func lookup(out: UnsafeMutablePointer<Float> /* (N,C) */,
                              tokens: UnsafePointer<Int32> /* (N) */,
                              wte: UnsafePointer<Float> /* (V,C) */,
                              N: Int, C: Int, V: Int = Int(Int32.max)) {
        precondition(N >= 0 && C > 0, "bad embedding shape")
        Parallel.chunks(N, minChunk: 64) { rows in
            for n in rows {
                let tok = Int(tokens[n])
                precondition(tok >= 0 && tok < V, "token id out of range")
                (out + n * C).update(from: wte + tok * C, count: C)
            }
        }
    }

    /// dwte[tokens[b,t],:] += dout[b,t,:] and dwpe[t,:] += dout[b,t,:] (accumulates).
    ///
    /// dwte: parallel over blocks of channels, so repeated tokens never race; the order of additions
    /// into every element is fixed (row order), so results do not depend on the thread count. dwpe:
    /// parallel over positions, each summing its B rows from zero and adding the total once.
    public static func backward(dwte: UnsafeMutablePointer<Float>? /* (V,C) +=; nil: not accumulated */,
                                dwpe: UnsafeMutablePointer<Float>? /* (P,C) +=; nil when not learned */,
                                dout: UnsafePointer<Float> /* (B,T,C) */,
                                tokens: UnsafePointer<Int32> /* (B,T) */,
                                B: Int, T: Int, C: Int) {
        precondition(B >= 0 && T >= 0 && C > 0, "bad embedding shape")
        let N = B * T
        let blocks = (C + 15) / 16
        if let dwte {
            Parallel.chunks(blocks, minChunk: 4) { range in
                let lo = range.lowerBound * 16, hi = min(C, range.upperBound * 16)
                for n in 0..<N { accumulate(dwte + Int(tokens[n]) * C, dout + n * C, lo, hi) }
            }
        }
        // Each position's rows summed over the batch, then added once (`Parallel.addRowSums`).
        if let dwpe {
            Parallel.chunks(T, minChunk: 4) { positions in
                for t in positions {
                    Parallel.addRowSums(into: dwpe + t * C, nil, channels: 0..<C, rows: B) { b, c, lanes, sum, _ in
                        sum += (dout + (b * T + t) * C).load16(c, lanes: lanes)
                    }
                }
            }
        }
    }

    /// Fills the fixed sinusoidal position table of "Attention Is All You Need":
    /// PE(pos, 2i) = sin(pos / 10000^(2i/C)), PE(pos, 2i+1) = cos(pos / 10000^(2i/C)).
    /// Computed in Double; for odd C the last column is a sine.
    public static func sinusoidalTable(into table: UnsafeMutablePointer<Float> /* (P,C) */, P: Int, C: Int) {
        precondition(P >= 0 && C > 0, "bad table shape")
        for pos in 0..<P {
            for c in 0..<C {
                let i2 = Double(c - c % 2)   // 2i
                let angle = Double(pos) / Foundation.pow(10000.0, i2 / Double(C))
                table[pos * C + c] = Float(c % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle))
            }
        }
    }

    /// out[0..<C] = a[0..<C] + b[0..<C].
    @inline(__always)
    static func add(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ C: Int) {
        var c = 0
        while c + 16 <= C { out.store16(c, a.load16(c) + b.load16(c)); c += 16 }
        while c < C { out[c] = a[c] + b[c]; c += 1 }
    }

    /// dst[lo..<hi] += src[lo..<hi].
    @inline(__always)
    static func accumulate(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ lo: Int, _ hi: Int) {
        var c = lo
        while c + 16 <= hi { dst.store16(c, dst.load16(c) + src.load16(c)); c += 16 }
        while c < hi { dst[c] += src[c]; c += 1 }
    }
}
