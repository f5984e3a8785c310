import Checkpoint
import XCTest

/// Every storage method and level gives back the exact bits; shuffling helps zstd on weight-like
/// data; damaged frames are refused.
final class ChunkCodecTests: XCTestCase {
    /// Weight-like values: normal(0, 0.02) from a fixed generator.
    func weights(_ n: Int) -> [Float] {
        var state: UInt64 = 42
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        return (0..<n).map { _ in Float(0.02 * (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())) }
    }

    func testRoundTripIsBitwiseForEveryMethod() throws {
        let values = weights(5000)
        for (method, level, shuffle) in [(ChunkCodec.Method.zstd, 1, true), (.zstd, 3, false), (.zstd, -3, true), (.none, 1, false), (.none, 1, true)] {
            let codec = try ChunkCodec(method: method, level: level, shuffle: shuffle, chunkElements: 8192)
            let encoded = Array(try codec.encode(values, count: values.count))
            var back = [Float](repeating: 0, count: 8192)
            let (bytes, count) = try encoded.withUnsafeBytes { try codec.decode($0, expected: values.count, into: &back) }
            XCTAssertEqual(bytes, encoded.count)
            XCTAssertEqual(count, values.count)
            XCTAssertEqual(back.prefix(values.count).map(\.bitPattern), values.map(\.bitPattern), "\(method) level \(level) shuffle \(shuffle)")
        }
    }

    func testShuffleImprovesTheRatioOnWeights() throws {
        let values = weights(1 << 16)
        let plain = try ChunkCodec(method: .zstd, level: 1, shuffle: false, chunkElements: 1 << 16).encode(values, count: values.count).count
        let shuffled = try ChunkCodec(method: .zstd, level: 1, shuffle: true, chunkElements: 1 << 16).encode(values, count: values.count).count
        XCTAssertLessThan(shuffled, plain)
        // The low mantissa bytes of normal(0, 0.02) values are noise, so no codec gets far: the top
        // (sign + exponent) plane is what compresses. Measured ratios at 4 MiB chunks: BENCHMARKS.md.
        XCTAssertGreaterThan(Double(values.count * 4) / Double(shuffled), 1.1, "shuffled weights compress")
        XCTAssertLessThan(Double(values.count * 4) / Double(plain), 1.1, "unshuffled they barely do")
    }

    func testTruncatedOrDamagedFramesAreRefused() throws {
        let values = weights(4096)
        let codec = try ChunkCodec(method: .zstd, level: 1, shuffle: true, chunkElements: 4096)
        let encoded = Array(try codec.encode(values, count: values.count))
        var back = [Float](repeating: 0, count: 4096)
        let truncated = Array(encoded.prefix(encoded.count - 10))
        XCTAssertThrowsError(try truncated.withUnsafeBytes { try codec.decode($0, expected: 4096, into: &back) })
        var wrongHeader = encoded
        wrongHeader[0] ^= 0xFF  // the zstd magic number
        XCTAssertThrowsError(try wrongHeader.withUnsafeBytes { try codec.decode($0, expected: 4096, into: &back) })
        XCTAssertThrowsError(try encoded.withUnsafeBytes { try codec.decode($0, expected: 4000, into: &back) }, "content size differs from the expected count")
        XCTAssertThrowsError(try ChunkCodec(method: .zstd, level: 99, shuffle: true))
    }
}
