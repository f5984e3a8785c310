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
}
