/// A bfloat16 number: the upper 16 bits of an IEEE binary32 (1 sign, 8 exponent, 7 fraction bits),
/// the wire format of compressed gradient allreduces.
///
/// It has `Float`'s range and about 3 significant decimal digits (relative rounding error ≤ 2⁻⁹).
/// Conversion from `Float` rounds to nearest, ties to even; NaN stays a (quiet) NaN and ±∞ stays ±∞.
/// Arithmetic happens in `Float`: every reduction of bfloat16 values (sum, max, min, the division of
/// an average) widens its operands exactly to `Float`, computes one `Float` result and rounds that
/// once back to bfloat16. All communicators share these kernels, so a two-rank sum is bit-identical
/// everywhere (`a + b` is commutative); with more ranks each pairwise addition rounds, and the order in
/// which a transport combines ranks (MPI's ring, in-process rank order) can change the last bit.
public struct BFloat16: CommScalar, Hashable, Comparable, CustomStringConvertible {
    /// `.bfloat16`.
    public static var commDataType: CommDataType { .bfloat16 }

    /// The 16 stored bits.
    public var bitPattern: UInt16

    /// The value with these bits.
    @inline(__always)
    public init(bitPattern: UInt16) { self.bitPattern = bitPattern }

    /// `value` rounded to the nearest bfloat16 (ties to even).
    @inline(__always)
    public init(_ value: Float) { bitPattern = Self.round(value.bitPattern) }

    /// The exact `Float` value.
    @inline(__always)
    public var float: Float { Float(bitPattern: UInt32(bitPattern) << 16) }

    /// Ordered as the `Float` values (NaNs unordered).
    public static func < (a: BFloat16, b: BFloat16) -> Bool { a.float < b.float }

    /// The value as `Float` prints it.
    public var description: String { "\(float)" }

    /// Rounds binary32 bits to the nearest bfloat16 bits (ties to even); NaNs become quiet NaNs.
    @inline(__always)
    static func round(_ bits: UInt32) -> UInt16 {
        // Adding 0x7FFF plus the lowest kept bit rounds to nearest-even; a carry out of the fraction
        // correctly bumps the exponent (and turns the largest finite values into ∞, as IEEE does).
        let rounded = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
        let quietNaN = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        return bits & 0x7FFF_FFFF > 0x7F80_0000 ? quietNaN : rounded
    }

    // MARK: - Bulk conversions and sums (16 lanes at a time, as the gradient hand-off needs)

    /// 16 binary32 values rounded to bfloat16 bits as `round(_:)` does. NaN lanes are found by a
    /// float compare (an integer compare-and-select on 16 lanes compiles to scalar code).
    @inline(__always)
    static func round16(_ x: SIMD16<Float>) -> SIMD16<UInt16> {
        let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
        var r = (bits &+ SIMD16(repeating: 0x7FFF) &+ ((bits &>> 16) & SIMD16(repeating: 1))) &>> 16
        r.replace(with: (bits &>> 16) | SIMD16(repeating: 0x0040), where: x .!= x)
        return SIMD16<UInt16>(truncatingIfNeeded: r)
    }

    /// 16 bfloat16 bit patterns widened exactly to `Float`.
    @inline(__always)
    static func widen16(_ bits: SIMD16<UInt16>) -> SIMD16<Float> {
        unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: bits) &<< 16, to: SIMD16<Float>.self)
    }

    /// `destination[i] = BFloat16(source[i])` for `count` elements.
    public static func convert(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<BFloat16>, count: Int) {
        let src = UnsafeRawPointer(source), dst = UnsafeMutableRawPointer(destination)
        var i = 0
        while i + 16 <= count {
            dst.storeBytes(of: round16(src.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)), toByteOffset: 2 * i, as: SIMD16<UInt16>.self)
            i += 16
        }
        while i < count { destination[i].bitPattern = round(source[i].bitPattern); i += 1 }
    }

    /// `destination[i] = Float(source[i]) / divisor` for `count` elements (exact when `divisor` is 1;
    /// otherwise one true `Float` division per element).
    public static func widen(_ source: UnsafePointer<BFloat16>, to destination: UnsafeMutablePointer<Float>,
                             count: Int, dividingBy divisor: Float = 1) {
        let src = UnsafeRawPointer(source), dst = UnsafeMutableRawPointer(destination)
        let d = SIMD16<Float>(repeating: divisor)
        var i = 0
        while i + 16 <= count {
            let v = widen16(src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self))
            dst.storeBytes(of: divisor == 1 ? v : v / d, toByteOffset: 4 * i, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            let v = source[i].float
            destination[i] = divisor == 1 ? v : v / divisor
            i += 1
        }
    }

    /// `out[i] = BFloat16(Float(a[i]) + Float(b[i]))` over raw bfloat16 bits (`out` may be `a`).
    static func add(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into out: UnsafeMutableRawPointer, count: Int) {
        var i = 0
        while i + 16 <= count {
            let x = widen16(a.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self))
            let y = widen16(b.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self))
            out.storeBytes(of: round16(x + y), toByteOffset: 2 * i, as: SIMD16<UInt16>.self)
            i += 16
        }
        let pa = a.assumingMemoryBound(to: UInt16.self), pb = b.assumingMemoryBound(to: UInt16.self)
        let po = out.assumingMemoryBound(to: UInt16.self)
        while i < count {
            po[i] = round((Float(bitPattern: UInt32(pa[i]) << 16) + Float(bitPattern: UInt32(pb[i]) << 16)).bitPattern)
            i += 1
        }
    }

    // MARK: - Reduction kernels shared by every communicator

    /// `accumulator[i] = op(accumulator[i], next[i])` over raw bfloat16 bits, computed in `Float` and
    /// rounded once (`.average` sums; divide afterwards with `divide`).
    static func combine(into accumulator: UnsafeMutableRawPointer, from next: UnsafeRawPointer, count: Int,
                        op: ReduceOp) {
        let a = accumulator.assumingMemoryBound(to: UInt16.self)
        let b = next.assumingMemoryBound(to: UInt16.self)
        switch op {
        case .sum, .average:
            add(UnsafeRawPointer(accumulator), next, into: accumulator, count: count)
        case .max:
            for i in 0..<count where Float(bitPattern: UInt32(b[i]) << 16) > Float(bitPattern: UInt32(a[i]) << 16) {
                a[i] = b[i]
            }
        case .min:
            for i in 0..<count where Float(bitPattern: UInt32(b[i]) << 16) < Float(bitPattern: UInt32(a[i]) << 16) {
                a[i] = b[i]
            }
        }
    }

    /// `values[i] = BFloat16(Float(values[i]) / Float(divisor))`, a true `Float` division rounded once.
    static func divide(_ values: UnsafeMutableRawPointer, count: Int, by divisor: Int) {
        let v = values.assumingMemoryBound(to: UInt16.self)
        let d = Float(divisor)
        for i in 0..<count { v[i] = round((Float(bitPattern: UInt32(v[i]) << 16) / d).bitPattern) }
    }
}
