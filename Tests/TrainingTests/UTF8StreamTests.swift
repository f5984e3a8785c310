import Training
import XCTest

/// `UTF8Stream` (what `pretrain generate` streams through): a character split across token
/// boundaries comes out once, whole.
final class UTF8StreamTests: XCTestCase {
    func testHoldsBackASplitSequenceUntilItsLastByte() {
        var stream = UTF8Stream()
        let bytes = Array("a€b".utf8)  // € is E2 82 AC
        XCTAssertEqual(stream.push(Array(bytes[0..<2])), "a")
        XCTAssertEqual(stream.push([bytes[2]]), "")
        XCTAssertEqual(stream.push(Array(bytes[3...])), "€b")
        XCTAssertEqual(stream.flush(), "")
    }

    func testFlushTurnsAnIncompleteTailIntoReplacement() {
        var stream = UTF8Stream()
        XCTAssertEqual(stream.push([0x68, 0xF0, 0x9F]), "h")
        XCTAssertEqual(stream.flush(), "\u{FFFD}")
        XCTAssertEqual(stream.flush(), "")
    }
}
