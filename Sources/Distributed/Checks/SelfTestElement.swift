import Support

/// An element type `CommSelfTest` can fill with deterministic rank-dependent values and whose
/// expected reductions it computes independently of any communicator.
protocol SelfTestElement: CommScalar, Comparable {
    /// A deterministic value from 64 random-looking bits. Floating-point values are small
    /// integers (|x| ≤ 1000) so that sums are exact in any order.
    static func make(_ bits: UInt64) -> Self
    /// The reduction of `element(0) … element(ranks-1)` under `op`, computed without float rounding
    /// (floating point: an exact sum, then one division for average; integers: wrapping sum).
    static func reference(_ op: ReduceOp, ranks: Int, _ element: (Int) -> Self) -> Self
}

extension SelfTestElement where Self: AdditiveArithmetic {
    /// The reduction under `op` of `element(0) … element(ranks-1)`, folded in rank order: the sum by
    /// `add`, the average as `average(sum, ranks)`, and the running maximum and minimum.
    @inline(__always)
    static func fold(_ op: ReduceOp, ranks: Int, _ element: (Int) -> Self, add: (Self, Self) -> Self,
                     average: (Self, Int) -> Self) -> Self {
        var sum = Self.zero
        var best = element(0), least = best
        for r in 0..<ranks {
            let x = element(r)
            sum = add(sum, x)
            if x > best { best = x }
            if x < least { least = x }
        }
        switch op {
        case .sum: return sum
        case .average: return average(sum, ranks)
        case .max: return best
        case .min: return least
        }
    }
}

extension SelfTestElement where Self: BinaryFloatingPoint {
    /// Floating-point inputs are integers with |x| ≤ 1000, so every partial sum of up to 8,000 ranks is
    /// an integer below 2^24 and therefore exact: accumulating in `Self` in any order yields exactly
    /// the mathematical sum, the one value every correct allreduce must produce.
    @inline(__always)
    static func reference(_ op: ReduceOp, ranks: Int, _ element: (Int) -> Self) -> Self {
        fold(op, ranks: ranks, element, add: +, average: { $0 / Self($1) })
    }
}

extension SelfTestElement where Self: FixedWidthInteger {
    /// Integers wrap on overflow, as the communicators' sums do; an integer average is not defined.
    @inline(__always)
    static func reference(_ op: ReduceOp, ranks: Int, _ element: (Int) -> Self) -> Self {
        fold(op, ranks: ranks, element, add: &+, average: { _, _ in preconditionFailure("integer average is not defined") })
    }
}

extension Float: SelfTestElement {
    /// An integer in -1000...1000.
    @inline(__always)
    static func make(_ bits: UInt64) -> Float { Float(Int32(truncatingIfNeeded: ((bits >> 32) &* 2001) >> 32) - 1000) }
}

extension Double: SelfTestElement {
    /// An integer in -1000...1000.
    @inline(__always)
    static func make(_ bits: UInt64) -> Double { Double(Int32(truncatingIfNeeded: ((bits >> 32) &* 2001) >> 32) - 1000) }
}

extension Int32: SelfTestElement {
    /// Within ±1_000_000: sums of many ranks never overflow (signed overflow is undefined in MPI's C).
    @inline(__always)
    static func make(_ bits: UInt64) -> Int32 { Int32(truncatingIfNeeded: ((bits >> 32) &* 2_000_001) >> 32) - 1_000_000 }
}

extension Int64: SelfTestElement {
    /// Within ±2^59: sums of up to 8 ranks cannot overflow.
    @inline(__always)
    static func make(_ bits: UInt64) -> Int64 { Int64(bitPattern: bits) >> 4 }
}

extension UInt8: SelfTestElement {
    /// Any byte: sums wrap modulo 256, as MPI_SUM on MPI_UINT8_T does.
    @inline(__always)
    static func make(_ bits: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: bits >> 17) }
}

extension UInt16: SelfTestElement {
    /// Any 16-bit value: sums wrap modulo 65536.
    @inline(__always)
    static func make(_ bits: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: bits >> 11) }
}

extension UInt64: SelfTestElement {
    /// Any 64-bit value: sums wrap modulo 2^64.
    @inline(__always)
    static func make(_ bits: UInt64) -> UInt64 { bits }
}

/// Deterministic bits for element `index` of rank `rank` in check `salt` (a SplitMix64 finalizer).
@inline(__always)
func selfTestBits(_ index: Int, _ rank: Int, _ salt: Int) -> UInt64 {
    var x = UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15
        &+ UInt64(truncatingIfNeeded: rank &+ 1) &* 0xBF58_476D_1CE4_E5B9
        &+ UInt64(truncatingIfNeeded: salt) &* 0x94D0_49BB_1331_11EB
    x ^= x >> 31
    x = x &* 0xBF58_476D_1CE4_E5B9
    x ^= x >> 27
    x = x &* 0x94D0_49BB_1331_11EB
    x ^= x >> 31
    return x
}

/// A 64-bit digest of raw bytes (FNV-1a over 8-byte words, then the tail bytes, mixed with length).
func selfTestDigest(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
    var h = seed ^ UInt64(bytes.count)
    let words = bytes.count / 8
    for w in 0..<words {
        h = (h ^ bytes.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3
    }
    for b in (words * 8)..<bytes.count {
        h = (h ^ UInt64(bytes[b])) &* 0x0000_0100_0000_01B3
    }
    h ^= h >> 29
    return h
}

extension BFloat16: SelfTestElement {
    /// An integer in -30...30: sums of up to 8 ranks stay below 256 in magnitude, exact in bfloat16's
    /// 8-bit significand, so every order of pairwise bfloat16 additions gives these bits.
    @inline(__always)
    static func make(_ bits: UInt64) -> BFloat16 { BFloat16(Float(Int32(truncatingIfNeeded: ((bits >> 32) &* 61) >> 32) - 30)) }

    /// The exact sum rounded once (exact here), the average as one `Float` division rounded once.
    static func reference(_ op: ReduceOp, ranks: Int, _ element: (Int) -> BFloat16) -> BFloat16 {
        var sum: Float = 0, best = element(0), least = best
        for r in 0..<ranks {
            let x = element(r)
            sum += x.float
            if x > best { best = x }
            if x < least { least = x }
        }
        switch op {
        case .sum: return BFloat16(sum)
        case .average: return BFloat16(sum / Float(ranks))
        case .max: return best
        case .min: return least
        }
    }
}
