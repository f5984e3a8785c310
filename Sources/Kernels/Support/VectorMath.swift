import Support

// Whole-buffer vector helpers: squared norm, scaling, zeroing, accumulation.
//
// Shapes: x, dst, src (count), flat.

/// Simple parallel operations on flat float buffers (gradient norm, clipping, zeroing).
public enum VectorMath {
    /// Number of fixed slices `sumOfSquares` cuts a buffer into, whatever the thread count.
    static let slices = 64

    /// Σ x² in Double. Deterministic: the buffer is cut into a fixed number of slices (independent of
    /// the thread count), each slice is summed in a fixed order, and the slice sums are added in index
    /// order, so 1 and n threads give bitwise the same result.
    public static func sumOfSquares(_ x: UnsafePointer<Float> /* (count) */, count: Int) -> Double {
        precondition(count >= 0, "negative count")
        if count == 0 { return 0 }
        let per = ((count + slices - 1) / slices + 15) / 16 * 16
        let used = (count + per - 1) / per
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: slices) { partial in
            let p = partial.baseAddress!
            Parallel.chunks(used) { range in
                for s in range {
                    let lo = s * per, hi = min(count, lo + per)
                    p[s] = sliceSumOfSquares(x + lo, hi - lo)
                }
            }
            var total = 0.0
            for s in 0..<used { total += p[s] }
            return total
        }
    }

    /// Σ x² of one slice: Float SIMD accumulators over 4096-element blocks, each block added in Double.
    @inline(__always)
    static func sliceSumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < n {
            let end = min(n, start + 4096)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
            var i = start
            while i + 32 <= end {
                let u = x.load16(i), v = x.load16(i + 16)
                a0 = a0.addingProduct(u, u)
                a1 = a1.addingProduct(v, v)
                i += 32
            }
            var s = Double((a0 + a1).laneSum)
            while i < end { s += Double(x[i] * x[i]); i += 1 }
            total += s
            start = end
        }
        return total
    }

    /// x *= s. Parallel.
    public static func scale(_ x: UnsafeMutablePointer<Float> /* (count) */, count: Int, by s: Float) {
        precondition(count >= 0, "negative count")
        let sv = SIMD16<Float>(repeating: s)
        Parallel.chunks((count + 15) / 16, minChunk: 8192) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            var i = lo
            while i + 16 <= hi { x.store16(i, x.load16(i) * sv); i += 16 }
            while i < hi { x[i] *= s; i += 1 }
        }
    }

    /// x = 0. Parallel memset.
    public static func zero(_ x: UnsafeMutablePointer<Float> /* (count) */, count: Int) {
        precondition(count >= 0, "negative count")
        Parallel.chunks((count + 15) / 16, minChunk: 16384) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            (x + lo).update(repeating: 0, count: hi - lo)
        }
    }

    /// dst += src. Parallel.
    public static func add(_ dst: UnsafeMutablePointer<Float> /* (count) += */,
                           _ src: UnsafePointer<Float> /* (count) */, count: Int) {
        precondition(count >= 0, "negative count")
        Parallel.chunks((count + 15) / 16, minChunk: 8192) { range in
            let lo = range.lowerBound * 16, hi = min(count, range.upperBound * 16)
            accumulate(dst + lo, src + lo, count: hi - lo)
        }
    }

    /// dst += src on the calling thread (serial building block of the parallel kernels).
    @inline(__always)
    static func accumulate(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count { dst.store16(i, dst.load16(i) + src.load16(i)); i += 16 }
        while i < count { dst[i] += src[i]; i += 1 }
    }
}
