import DataPipeline
import XCTest
import Support

/// Tokenizer encode/decode: parity with the Python `tokenizers` library and byte round-trips.
final class TokenizerTests: XCTestCase {
    func testHuggingFaceTrainedTokenizerEncodesLikePython() throws {
        let tokenizer = try Tokenizer.load(from: Fixtures.path("hf-trained/tokenizer.json"))
        XCTAssertEqual(tokenizer.vocabularySize, 600)
        XCTAssertEqual(tokenizer.endOfText, 0)  // the Python trainer puts special tokens first
        try assertEncodes(tokenizer, like: Fixtures.idCases("hf-trained/ids.json"))
    }

    func testPrefixSpaceAndStrippingAddedTokensEncodeLikePython() throws {
        let tokenizer = try Tokenizer.load(from: Fixtures.path("hf-trained/variant.json"))
        XCTAssertTrue(tokenizer.addPrefixSpace)
        XCTAssertEqual(tokenizer.addedTokens.first { $0.content == "[MASK]" }?.lstrip, true)
        try assertEncodes(tokenizer, like: Fixtures.idCases("hf-trained/variant-ids.json"), roundTrip: false)
    }

    func testGPT2VocabAndMergesEncodeLikePython() throws {
        let tokenizer = try Tokenizer.load(vocabulary: Fixtures.path("gpt2-head/vocab.json"),
                                           merges: Fixtures.path("gpt2-head/merges.txt"))
        XCTAssertEqual(tokenizer.merges.count, 2000)
        XCTAssertEqual(tokenizer.endOfText, 2256)
        XCTAssertEqual(tokenizer.encode(" world the"), [995, 262])  // GPT-2's ids for these words
        try assertEncodes(tokenizer, like: Fixtures.idCases("gpt2-head/ids.json"))
        // The same files found through vocab.json alone.
        let again = try Tokenizer.load(from: Fixtures.path("gpt2-head/vocab.json"))
        XCTAssertEqual(again.encode("it's 2024, the year"), tokenizer.encode("it's 2024, the year"))
    }

    func testRandomBytesRoundTrip() throws {
        let tokenizer = try Tokenizer.load(from: Fixtures.path("hf-trained/tokenizer.json"))
        var rng = SplitMix64(seed: 7)
        let encoder = tokenizer.makeEncoder()
        for length in [0, 1, 2, 3, 7, 64, 300, 5000] {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                var ids: [Int32] = []
                bytes.withUnsafeBufferPointer { encoder.encode($0, into: &ids) }
                XCTAssertEqual(tokenizer.decode(ids), bytes, "length \(length)")
                XCTAssertTrue(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize })
            }
        }
    }

    func testLongPiecesUseSameMergeOrderAsShortOnes() throws {
        // 300+ byte pieces take the heap path; splitting the text keeps every piece short. Both
        // must agree with BPE applied piece by piece.
        let tokenizer = try Tokenizer.load(from: Fixtures.path("hf-trained/tokenizer.json"))
        let long = String(repeating: "abracadabra", count: 40)  // one 440-byte letter run
        let ids = tokenizer.encode(long)
        XCTAssertEqual(tokenizer.decodeText(ids), long)
        let short = tokenizer.encode("abracadabra")
        // 440 bytes: each 11-byte period merges the same way only if no merge crosses periods,
        // so compare against a direct slow BPE instead.
        XCTAssertEqual(ids, slowBPE(tokenizer, Array(long.utf8)))
        XCTAssertFalse(short.isEmpty)
    }

    func testSpecialTokensAreMatchedLiterally() throws {
        let tokenizer = try Tokenizer.load(from: Fixtures.path("hf-trained/tokenizer.json"))
        let eot = try XCTUnwrap(tokenizer.endOfText)
        let ids = tokenizer.encode("a<|endoftext|>b")
        XCTAssertEqual(ids, tokenizer.encode("a") + [eot] + tokenizer.encode("b"))
        let ordinary = tokenizer.encodeOrdinary(bytes: Array("a<|endoftext|>b".utf8))
        XCTAssertFalse(ordinary.contains(eot))
        XCTAssertEqual(tokenizer.decodeText(ordinary), "a<|endoftext|>b")
    }

    func testModelVocabularyCheck() throws {
        let tokenizer = try Tokenizer.load(from: Fixtures.path("hf-trained/tokenizer.json"))
        XCTAssertNoThrow(try tokenizer.checkFits(modelVocabularySize: 600))
        XCTAssertThrowsError(try tokenizer.checkFits(modelVocabularySize: 599)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("tokenizer.json") && text.contains("600") && text.contains("599"), text)
        }
    }

    private func assertEncodes(_ tokenizer: Tokenizer, like cases: [(text: String, ids: [Int32])], roundTrip: Bool = true,
                               file: StaticString = #filePath, line: UInt = #line)
    {
        XCTAssertGreaterThan(cases.count, 400, file: file, line: line)
        var mismatches = 0
        let encoder = tokenizer.makeEncoder()  // one encoder: later cases hit the cache
        for (text, expected) in cases {
            let got = encoder.encode(text)
            if got != expected {
                mismatches += 1
                if mismatches <= 5 {
                    XCTFail("\(text.debugDescription): got \(got), expected \(expected)", file: file, line: line)
                }
            }
            if roundTrip { XCTAssertEqual(tokenizer.decodeText(got), text, file: file, line: line) }
        }
        XCTAssertEqual(mismatches, 0, file: file, line: line)
    }

    /// Textbook BPE on one piece: find the lowest-ranked adjacent pair, merge it, repeat.
    private func slowBPE(_ tokenizer: Tokenizer, _ bytes: [UInt8]) -> [Int32] {
        var rank: [String: Int] = [:]
        for (index, merge) in tokenizer.merges.enumerated() {
            rank["\(tokenizer.bytes(of: merge.left))|\(tokenizer.bytes(of: merge.right))"] = index
        }
        var parts = bytes.map { [$0] }
        while parts.count > 1 {
            var best: (rank: Int, at: Int)?
            for i in 0..<(parts.count - 1) {
                if let r = rank["\(parts[i])|\(parts[i + 1])"], best == nil || r < best!.rank { best = (r, i) }
            }
            guard let (_, at) = best else { break }
            parts[at] += parts[at + 1]
            parts.remove(at: at + 1)
        }
        var idOf: [[UInt8]: Int32] = [:]
        for id in (0..<Int32(tokenizer.vocabularySize)).reversed() { idOf[tokenizer.bytes(of: id)] = id }
        return parts.map { idOf[$0]! }
    }
}
