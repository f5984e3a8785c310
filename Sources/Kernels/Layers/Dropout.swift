import Support

// Inverted dropout with a counter-based random stream.
//
// Shapes: inp, out, dinp, dout (count)    mask (count) bytes, 1 = kept, 0 = dropped.
//
// Element i (global index offset + i) is kept iff the top 24 bits of hash(seed, offset + i) ≥ p·2^24,
// so the mask depends only on (seed, offset + i): not on the thread count, the chunking or the order.
// Kept elements are scaled by 1/(1 − p) so the expectation is unchanged.

/// Inverted dropout whose mask is a pure function of (seed, element index).
public enum Dropout {
    /// out = inp·mask/(1 − p) with mask[i] = keep(seed, offset + i); writes the mask for backward.
    /// p = 0 copies; p ≥ 1 drops everything. `out` may alias `inp`.
    public static func forward(out: UnsafeMutablePointer<Float> /* (count) */,
                               mask: UnsafeMutablePointer<UInt8> /* (count) */,
                               inp: UnsafePointer<Float> /* (count) */,
                               count: Int, p: Float, seed: UInt64, offset: UInt64 = 0) {
        precondition(count >= 0 && p >= 0, "bad dropout arguments")
        let threshold = self.threshold(p)
        let scale = p < 1 ? 1 / (1 - p) : 0
        let keys = self.keys(seed)
        Parallel.chunks((count + 15) / 16, minChunk: 4096) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            let thr = SIMD16<Int32>(repeating: threshold)
            let lanes = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            var i = lo
            while i + 16 <= hi {
                let c = offset &+ UInt64(i)
                if UInt32(truncatingIfNeeded: c) > UInt32.max - 15 {
                    // The 16 counters cross a 2^32 boundary (their high word changes): go one by one.
                    for j in i..<(i + 16) {
                        let kept = keeps(index: offset &+ UInt64(j), threshold: threshold, keys)
                        mask[j] = kept ? 1 : 0
                        out[j] = kept ? inp[j] * scale : 0
                    }
                    i += 16
                    continue
                }
                let r = bits24(SIMD16<UInt32>(repeating: UInt32(truncatingIfNeeded: c)) &+ lanes,
                               high: UInt32(truncatingIfNeeded: c >> 32), keys)
                let keep = r .>= thr
                var y = inp.load16(i) * scale
                y.replace(with: 0, where: .!keep)
                out.store16(i, y)
                for k in 0..<16 { mask[i + k] = r[k] >= threshold ? 1 : 0 }
                i += 16
            }
            while i < hi {
                let kept = keeps(index: offset &+ UInt64(i), threshold: threshold, keys)
                mask[i] = kept ? 1 : 0
                out[i] = kept ? inp[i] * scale : 0
                i += 1
            }
        }
    }

    /// dinp += dout·mask/(1 − p) (accumulates).
    public static func backward(dinp: UnsafeMutablePointer<Float> /* (count) += */,
                                dout: UnsafePointer<Float> /* (count) */,
                                mask: UnsafePointer<UInt8> /* (count) */,
                                count: Int, p: Float) {
        precondition(count >= 0 && p >= 0, "bad dropout arguments")
        let scale: Float = p < 1 ? 1 / (1 - p) : 0
        Parallel.chunks((count + 15) / 16, minChunk: 4096) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            for i in lo..<hi { dinp[i] += dout[i] * (Float(mask[i]) * scale) }
        }
    }

    /// Whether element `index` is kept for (seed, p): the scalar definition the vector loop matches.
    public static func keeps(seed: UInt64, index: UInt64, p: Float) -> Bool {
        keeps(index: index, threshold: threshold(p), keys(seed))
    }

    /// The 24-bit keep threshold for drop probability p: keep iff bits ≥ threshold.
    static func threshold(_ p: Float) -> Int32 {
        if p <= 0 { return 0 }
        if p >= 1 { return 1 << 24 }   // no 24-bit value reaches it: all dropped
        return Int32((Double(p) * 16_777_216).rounded())
    }

    /// Two 32-bit keys derived from the seed by SplitMix64's finaliser.
    static func keys(_ seed: UInt64) -> (UInt32, UInt32) {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return (UInt32(truncatingIfNeeded: z), UInt32(truncatingIfNeeded: z >> 32))
    }

    /// Scalar keep decision for one global index.
    @inline(__always)
    static func keeps(index: UInt64, threshold: Int32, _ keys: (UInt32, UInt32)) -> Bool {
        let lo = SIMD16<UInt32>(repeating: UInt32(truncatingIfNeeded: index))
        return bits24(lo, high: UInt32(truncatingIfNeeded: index >> 32), keys)[0] >= threshold
    }

    /// 24 random bits per lane from the counter's low words `lo` and shared high word: Wellons'
    /// `triple32` integer hash of (lo ⊕ key0), re-keyed with (high ⊕ key1) and hashed again (lowbias32).
    @inline(__always)
    static func bits24(_ lo: SIMD16<UInt32>, high: UInt32, _ keys: (UInt32, UInt32)) -> SIMD16<Int32> {
        var h = lo ^ keys.0
        h ^= h &>> 17; h &*= 0xED5A_D4BB
        h ^= h &>> 11; h &*= 0xAC4C_1B51
        h ^= h &>> 15; h &*= 0x3184_8BAB
        h ^= h &>> 14
        h ^= SIMD16(repeating: high ^ keys.1)
        h ^= h &>> 16; h &*= 0x7FEB_352D
        h ^= h &>> 15; h &*= 0x846C_A68B
        h ^= h &>> 16
        return unsafeBitCast(h &>> 8, to: SIMD16<Int32>.self)
    }
}
