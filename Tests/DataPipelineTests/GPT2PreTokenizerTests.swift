import DataPipeline
import XCTest

/// GPT2PreTokenizer against the Python `tokenizers` library's ByteLevel split (fixture) and by hand.
final class GPT2PreTokenizerTests: XCTestCase {
    func testMatchesPythonTokenizersOnFixture() throws {
        let cases = try Fixtures.list("pretokenize.json")
        XCTAssertGreaterThan(cases.count, 400)
        let splitter = GPT2PreTokenizer()
        var mismatches = 0
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            let expected = try XCTUnwrap(entry["pieces"] as? [String])
            let got = splitter.split(text)
            if got != expected {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(text.debugDescription): got \(got), expected \(expected)") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testWhitespaceLookaheadRule() {
        let splitter = GPT2PreTokenizer()
        XCTAssertEqual(splitter.split("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(splitter.split("a\n\nb"), ["a", "\n", "\n", "b"])
        XCTAssertEqual(splitter.split("a \n b"), ["a", " \n", " b"])
        XCTAssertEqual(splitter.split("x   "), ["x", "   "])
        XCTAssertEqual(splitter.split("\tx"), ["\t", "x"])
    }

    func testContractionsAndClasses() {
        let splitter = GPT2PreTokenizer()
        XCTAssertEqual(splitter.split("we're it's I'LL"), ["we", "'re", " it", "'s", " I", "'", "LL"])
        XCTAssertEqual(splitter.split("abc123 !?x"), ["abc", "123", " !?", "x"])
    }

    func testInvalidUTF8BytesAreOtherSymbols() {
        let splitter = GPT2PreTokenizer()
        let bytes: [UInt8] = [0x61, 0xFF, 0xFE, 0x20, 0xC3, 0x62, 0xE2, 0x82]
        let ranges = splitter.split(bytes)
        XCTAssertEqual(ranges, [0..<1, 1..<3, 3..<5, 5..<6, 6..<8])
    }
}
