import DataPipeline
import XCTest

/// tokenizer.json save/load, and the errors for files that are not GPT-2-style byte-level BPE.
final class TokenizerFileTests: XCTestCase {
    func testSaveLoadGivesIdenticalEncodings() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let documents = try Fixtures.idCases("hf-trained/ids.json").map { Array($0.text.utf8) }
        let trained = try BPETrainer(vocabularySize: 700).train(documents: documents + documents)
        let path = directory + "/tokenizer.json"
        try trained.save(to: path)
        let loaded = try Tokenizer.load(from: path)
        XCTAssertEqual(loaded.vocabularySize, trained.vocabularySize)
        XCTAssertEqual(loaded.addedTokens, trained.addedTokens)
        for document in documents {
            XCTAssertEqual(loaded.encode(bytes: document), trained.encode(bytes: document))
        }
        XCTAssertEqual(loaded.jsonText(), trained.jsonText())
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory)
        XCTAssertEqual(leftovers, ["tokenizer.json"])  // the temporary file was renamed away
    }

    func testPythonFixtureRoundTripsThroughOurWriter() throws {
        let original = try Tokenizer.load(from: Fixtures.path("hf-trained/tokenizer.json"))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try original.save(to: directory + "/t.json")
        let copy = try Tokenizer.load(from: directory + "/t.json")
        for (text, ids) in try Fixtures.idCases("hf-trained/ids.json") {
            XCTAssertEqual(copy.encode(text), ids)
        }
    }

    func testWordPieceIsRejectedAsNotBPE() {
        let path = Fixtures.path("not-bpe.json")
        XCTAssertThrowsError(try Tokenizer.load(from: path)) { error in
            XCTAssertEqual(error as? DataError, .notBPE(path: path, modelType: "WordPiece"))
            XCTAssertTrue("\(error)".hasPrefix(path))
        }
    }

    func testNonByteLevelPreTokenizerIsRejected() {
        let path = Fixtures.path("whitespace-bpe.json")
        XCTAssertThrowsError(try Tokenizer.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains("pre_tokenizer Whitespace"), "\(error)")
        }
    }

    func testMissingAndMalformedFiles() throws {
        XCTAssertThrowsError(try Tokenizer.load(from: "/nonexistent/tokenizer.json")) { error in
            XCTAssertEqual(error as? DataError, .inputMissing(path: "/nonexistent/tokenizer.json"))
        }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/broken.json"
        try Array("{\"model\": ".utf8).write(to: path)
        XCTAssertThrowsError(try Tokenizer.load(from: path)) { error in
            XCTAssertTrue("\(error)".contains("not valid JSON"), "\(error)")
        }
        let badMerge = directory + "/bad-merge.json"
        try Array("""
        {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]},
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}}
        """.utf8).write(to: badMerge)
        XCTAssertThrowsError(try Tokenizer.load(from: badMerge)) { error in
            XCTAssertTrue("\(error)".contains("missing from the vocabulary"), "\(error)")
        }
    }
}

extension Array where Element == UInt8 {
    /// Writes the bytes to a file (test helper).
    func write(to path: String) throws {
        try Foundation.Data(self).write(to: URL(fileURLWithPath: path))
    }
}
