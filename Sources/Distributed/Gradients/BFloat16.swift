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
public struct BFloat16: CommScalar, Hashable, CustomStringConvertible {
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

    // MARK: - Bulk conversions (branch-free loops the compiler vectorizes)

    /// `destination[i] = BFloat16(source[i])` for `count` elements.
    public static func convert(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<BFloat16>, count: Int) {
        destination.withMemoryRebound(to: UInt16.self, capacity: count) { out in
            for i in 0..<count { out[i] = round(source[i].bitPattern) }
        }
    }

    /// `destination[i] = Float(source[i]) / divisor` for `count` elements (exact when `divisor` is 1;
    /// otherwise one true `Float` division per element).
    public static func widen(_ source: UnsafePointer<BFloat16>, to destination: UnsafeMutablePointer<Float>,
                             count: Int, dividingBy divisor: Float = 1) {
        source.withMemoryRebound(to: UInt16.self, capacity: count) { bits in
            if divisor == 1 {
                for i in 0..<count { destination[i] = Float(bitPattern: UInt32(bits[i]) << 16) }
            } else {
                for i in 0..<count { destination[i] = Float(bitPattern: UInt32(bits[i]) << 16) / divisor }
            }
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
            for i in 0..<count {
                let x = Float(bitPattern: UInt32(a[i]) << 16) + Float(bitPattern: UInt32(b[i]) << 16)
                a[i] = round(x.bitPattern)
            }
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
