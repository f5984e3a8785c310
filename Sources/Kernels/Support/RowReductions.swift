/// The per-row sums that LayerNorm and RMSNorm share: 16 lanes at a time, a pairwise lane sum, then the
/// tail in order (the same order everywhere, so both norms and their backward passes agree bitwise).
extension UnsafePointer where Pointee == Float {
    /// Σ self[c] for c < C.
    @inline(__always)
    func rowSum(_ C: Int) -> Float {
        var acc = SIMD16<Float>()
        var c = 0
        while c + 16 <= C { acc += load16(c); c += 16 }
        var s = acc.laneSum
        while c < C { s += self[c]; c += 1 }
        return s
    }

    /// Σ (self[c] − center)² for c < C (center 0: the plain sum of squares).
    @inline(__always)
    func rowSumOfSquares(_ C: Int, about center: Float = 0) -> Float {
        let mv = SIMD16<Float>(repeating: center)
        var acc = SIMD16<Float>()
        var c = 0
        while c + 16 <= C { let d = load16(c) - mv; acc = acc.addingProduct(d, d); c += 16 }
        var v = acc.laneSum
        while c < C { let d = self[c] - center; v += d * d; c += 1 }
        return v
    }
}
