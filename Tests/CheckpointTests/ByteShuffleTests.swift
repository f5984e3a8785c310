import Checkpoint
import XCTest

/// The byte-plane shuffle puts byte b of element i at b·n + i (checked on hand-picked bit patterns)
/// and `unshuffle` inverts it exactly, NaN payloads and all.
final class ByteShuffleTests: XCTestCase {
    func testPlanesHoldEachBytePosition() {
        let values: [Float] = [Float(bitPattern: 0x4433_2211), Float(bitPattern: 0x8877_6655), Float(bitPattern: 0xCCBB_AA99)]
        var planes = [UInt8](repeating: 0, count: 12)
        ByteShuffle.shuffle(values, count: 3, into: &planes)
        XCTAssertEqual(planes, [0x11, 0x55, 0x99, 0x22, 0x66, 0xAA, 0x33, 0x77, 0xBB, 0x44, 0x88, 0xCC])
    }

    func testUnshuffleInvertsShuffleBitwise() {
        var rng = SystemRandomNumberGenerator()
        let values = (0..<1001).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
        var planes = [UInt8](repeating: 0, count: values.count * 4)
        ByteShuffle.shuffle(values, count: values.count, into: &planes)
        var back = [Float](repeating: 0, count: values.count)
        ByteShuffle.unshuffle(planes, count: values.count, into: &back)
        XCTAssertEqual(back.map(\.bitPattern), values.map(\.bitPattern))
    }

    /// The vectorised body (16 values per step) and the scalar tail both follow the definition, for
    /// sizes around the SIMD width.
    func testEveryByteLandsWhereTheDefinitionSays() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 1000, 1024 + 7] {
            let values = (0..<n).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
            var planes = [UInt8](repeating: 0, count: 4 * n)
            ByteShuffle.shuffle(values, count: n, into: &planes)
            for i in 0..<n {
                for b in 0..<4 {
                    XCTAssertEqual(planes[b * n + i], UInt8(truncatingIfNeeded: values[i].bitPattern >> (8 * UInt32(b))), "n \(n), element \(i), byte \(b)")
                }
            }
            var back = [Float](repeating: 0, count: n)
            ByteShuffle.unshuffle(planes, count: n, into: &back)
            XCTAssertEqual(back.map(\.bitPattern), values.map(\.bitPattern), "n \(n)")
        }
    }
}

