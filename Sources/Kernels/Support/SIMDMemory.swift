/// Unaligned SIMD loads and stores on typed pointers, the building blocks of every vector loop.
///
/// Swift's `SIMD` types lower to AVX2 registers under `-march=x86-64-v3`. Things that silently compile to
/// element-by-element loops and must not be used in hot loops (measured): `.squareRoot()`, `.rounded`,
/// `.clamped`, `pointwiseMin/Max`, `.max()`/`.min()` reductions, integer comparisons against a *scalar*
/// (`v .>= 3`; compare against `SIMD16(repeating: 3)` instead). `addingProduct` gives a fused
/// multiply-add; `a * b + c` does not (no FP contraction).
extension UnsafePointer where Pointee == Float {
    /// Loads 16 floats starting at `self + i` (no alignment needed).
    @inline(__always)
    func load16(_ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD16<Float>.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Loads 16 floats starting at `self + i` (no alignment needed).
    @inline(__always)
    func load16(_ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(self + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Stores 16 floats starting at `self + i` (no alignment needed).
    @inline(__always)
    func store16(_ i: Int, _ v: SIMD16<Float>) {
        UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: SIMD16<Float>.self)
    }
}

/// Horizontal reductions written with shuffles-by-halves, which LLVM keeps in vector registers.
extension SIMD16 where Scalar == Float {
    /// The sum of the 16 lanes, pairwise.
    @inline(__always)
    var laneSum: Float {
        let a = lowHalf + highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// The largest of the 16 lanes (NaN-unaware).
    @inline(__always)
    var laneMax: Float {
        var a = lowHalf
        a.replace(with: highHalf, where: a .< highHalf)
        var b = a.lowHalf
        b.replace(with: a.highHalf, where: b .< a.highHalf)
        let m = b[0] > b[1] ? b[0] : b[1]
        let n = b[2] > b[3] ? b[2] : b[3]
        return m > n ? m : n
    }
}

extension UnsafePointer where Pointee == Float {
    /// Loads `n` < 16 floats starting at `self + i` into the low lanes; the other lanes are `fill`.
    @inline(__always)
    func loadPartial16(_ i: Int, _ n: Int, fill: Float = 0) -> SIMD16<Float> {
        var v = SIMD16<Float>(repeating: fill)
        for k in 0..<n { v[k] = self[i + k] }
        return v
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    /// Loads `n` < 16 floats starting at `self + i` into the low lanes; the other lanes are `fill`.
    @inline(__always)
    func loadPartial16(_ i: Int, _ n: Int, fill: Float = 0) -> SIMD16<Float> {
        UnsafePointer(self).loadPartial16(i, n, fill: fill)
    }

    /// Stores the low `n` < 16 lanes of `v` starting at `self + i`.
    @inline(__always)
    func storePartial16(_ i: Int, _ n: Int, _ v: SIMD16<Float>) {
        for k in 0..<n { self[i + k] = v[k] }
    }
}
