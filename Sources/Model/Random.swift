/// A small, fast, seedable random generator (SplitMix64) with Gaussian draws.
///
/// Used for weight initialisation, so every rank started from the same seed builds identical weights.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator state; saving it resumes the stream exactly.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in the open interval (0, 1).
    public mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) * (1.0 / 9_007_199_254_740_992.0) }

    /// Fills `count` Floats with N(mean, std²) draws (Box–Muller).
    public mutating func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float) {
        var i = 0
        while i < count {
            let u1 = uniform(), u2 = uniform()
            let r = (-2 * _log(u1)).squareRoot()
            let theta = 2 * Double.pi * u2
            p[i] = mean + std * Float(r * _cos(theta))
            if i + 1 < count { p[i + 1] = mean + std * Float(r * _sin(theta)) }
            i += 2
        }
    }
}

// Foundation-free libm access.
#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Glibc.sin(x) }
#else
import Darwin
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
@inline(__always) func _sin(_ x: Double) -> Double { Darwin.sin(x) }
#endif
