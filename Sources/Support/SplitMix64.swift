#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: a small, fast, platform-independent random generator, the project's only one.
///
/// The standard library's generators are not guaranteed to give the same numbers everywhere; this one
/// does, so a seed gives the same weights, shard order, masks and samples on every machine and rank.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The whole state: one 64-bit word; saving it resumes the stream exactly.
    public var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// A generator for a tuple of values (e.g. seed, epoch, shard), each folded in with a mix.
    public init(seeds: UInt64...) {
        var s: UInt64 = 0x6A09_E667_F3BC_C908
        for value in seeds {
            var mixer = SplitMix64(seed: s ^ value)
            s = mixer.next()
        }
        state = s
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection; no modulo bias).
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }

    /// A Fisher–Yates permutation of `0..<count`.
    public mutating func permutation(_ count: Int) -> [Int32] {
        var order = (0..<Int32(count)).map { $0 }
        if count < 2 { return order }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(next(below: UInt64(i + 1)))
            order.swapAt(i, j)
        }
        return order
    }

    /// A uniform Double in the open interval (0, 1).
    public mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0) }

    /// Fills `count` Floats with N(mean, std²) draws (Box–Muller).
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float) {
        var i = 0
        while i < count {
            let u1 = uniform(), u2 = uniform()
            let r = (-2 * log(u1)).squareRoot()
            let theta = 2 * Double.pi * u2
            p[i] = mean + std * Float(r * cos(theta))
            if i + 1 < count { p[i + 1] = mean + std * Float(r * sin(theta)) }
            i += 2
        }
    }
}
