import DataPipeline
import Foundation
import XCTest

/// WordPiece and Unigram `tokenizer.json` files made by the Python `tokenizers` library give its
/// ids (without and with special tokens, pairs) and its decoded text (fixtures:
/// Fixtures/hf-tokenizers/make_hf_tokenizers.py).
final class HuggingFaceTokenizerTests: XCTestCase {
    private func cases(_ name: String, in file: String = "cases.json") throws -> [[String: Any]] {
        let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hf-tokenizers/" + file)))
        let all = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(all[name] as? [[String: Any]])
    }

    private func ids(_ value: Any?) -> [Int32] { (value as? [NSNumber] ?? []).map { Int32($0.intValue) } }

    private func check(_ name: String, cases casesFile: String = "cases.json", minimum: Int = 40, file: StaticString = #filePath, line: UInt = #line) throws {
        let tokenizer = try HuggingFaceTokenizer.load(from: Fixtures.path("hf-tokenizers/" + name))
        var checked = 0
        let encoder = HuggingFaceEncoder(tokenizer)
        for entry in try cases(name, in: casesFile) {
            let text = try XCTUnwrap(entry["text"] as? String)
            if let pair = entry["pair"] as? String {
                XCTAssertEqual(tokenizer.encode(text, pair: pair, addSpecialTokens: false), ids(entry["ids"]), "\(name) pair \(text.debugDescription) \(pair.debugDescription)", file: file, line: line)
                XCTAssertEqual(tokenizer.encode(text, pair: pair), ids(entry["special"]), "\(name) pair+special \(text.debugDescription)", file: file, line: line)
            } else {
                XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false), ids(entry["ids"]), "\(name) \(text.debugDescription)", file: file, line: line)
                XCTAssertEqual(tokenizer.encode(text), ids(entry["special"]), "\(name) special \(text.debugDescription)", file: file, line: line)
                XCTAssertEqual(tokenizer.decode(ids(entry["special"])), entry["decoded"] as? String, "\(name) decode \(text.debugDescription)", file: file, line: line)
                XCTAssertEqual(tokenizer.decode(ids(entry["special"]), skipSpecialTokens: false), entry["decoded_all"] as? String,
                               "\(name) decode all \(text.debugDescription)", file: file, line: line)
            }
            if entry["pair"] == nil {
                var cached: [Int32] = []
                let bytes = Array(text.utf8)
                bytes.withUnsafeBufferPointer { encoder.encodeOrdinary($0, into: &cached) }
                bytes.withUnsafeBufferPointer { encoder.encodeOrdinary($0, into: &cached) }  // the second time from the cache
                XCTAssertEqual(cached, tokenizer.encodeOrdinary(text) + tokenizer.encodeOrdinary(text), "\(name) cached \(text.debugDescription)", file: file, line: line)
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, minimum, file: file, line: line)
    }

    func testWordPieceUncasedMatchesHuggingFace() throws { try check("wordpiece.json") }
    func testWordPieceCasedWithBertProcessingMatchesHuggingFace() throws { try check("wordpiece-cased.json") }
    func testUnigramWithByteFallbackMatchesHuggingFace() throws { try check("unigram.json") }
    func testUnigramPrependFirstWithRobertaProcessingMatchesHuggingFace() throws { try check("unigram-first.json") }

    func testT5LayoutWithPrecompiledCharsmapMatchesHuggingFace() throws { try check("t5.json") }
    func testT5ConverterLayoutMatchesHuggingFace() throws { try check("t5-converter.json") }

    func testTruncationAndPaddingOfTheFileApplyAsInHuggingFace() throws {
        try check("wordpiece-limits.json", cases: "limits-cases.json", minimum: 8)
        try check("wordpiece-limits-left.json", cases: "limits-cases.json", minimum: 8)
        let limited = try HuggingFaceTokenizer.load(from: Fixtures.path("hf-tokenizers/wordpiece-limits.json"))
        XCTAssertEqual(limited.truncationLength, 16)
        XCTAssertEqual(limited.paddingLength, 20)
        let long = String(repeating: "the city ", count: 30)
        XCTAssertEqual(limited.encode(long).count, 20)
        XCTAssertEqual(limited.withoutTruncationAndPadding().encode(long).count, 62)
    }

    func testAddedTokensNormalizedOrNotStrippingAndSpecialMatchAsInHuggingFace() throws {
        try check("wordpiece-added.json", cases: "added-cases.json", minimum: 10)
        try check("unigram-added.json", cases: "added-cases.json", minimum: 10)
    }

    func testBertTypeIdsMarkTheSecondSegment() throws {
        let tokenizer = try HuggingFaceTokenizer.load(from: Fixtures.path("hf-tokenizers/wordpiece.json"))
        let (ids, types) = tokenizer.encodeWithTypes("the city", pair: "one")
        XCTAssertEqual(ids.first, tokenizer.id(of: "[CLS]"))
        XCTAssertEqual(ids.last, tokenizer.id(of: "[SEP]"))
        XCTAssertEqual(types, [0, 0, 0, 0, 1, 1])
        let specials = try BERTSpecialTokens(tokenizer: tokenizer)
        XCTAssertEqual([specials.cls, specials.sep, specials.mask, specials.pad],
                       ["[CLS]", "[SEP]", "[MASK]", "[PAD]"].map { tokenizer.id(of: $0)! })
        XCTAssertEqual(specials.others, [tokenizer.id(of: "[UNK]")!])
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("The café, isn't it?")), "the cafe, isn ' t it?")  // HF's own output: its cleanup runs per token
    }

    func testUnsupportedPartsAreOneLineNamingThem() throws {
        let directory = try makeTemporaryDirectory("hftok")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let base = try XCTUnwrap(JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hf-tokenizers/wordpiece.json")))) as? [String: Any])
        let variants: [(String, Any, String)] = [
            ("model", ["type": "WordLevel", "vocab": [:], "unk_token": "[UNK]"], "model WordLevel"),
            ("normalizer", ["type": "ByteLevel"], "normalizer ByteLevel"),
            ("pre_tokenizer", ["type": "UnicodeScripts"], "pre_tokenizer UnicodeScripts"),
            ("post_processor", ["type": "Mystery"], "post_processor Mystery"),
            ("decoder", ["type": "CTC"], "decoder CTC"),
        ]
        for (key, value, expected) in variants {
            var root = base
            root[key] = value
            let path = directory + "/\(key).json"
            try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try HuggingFaceTokenizer.load(from: path)) { error in
                XCTAssertTrue(error is DataError)
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
                XCTAssertFalse("\(error)".contains("\n"))
            }
        }
    }

    func testBPEFilesStillLoadThroughTheByteLevelTokenizer() throws {
        let path = Fixtures.path("hf-trained/tokenizer.json")
        let bpe = try Tokenizer.load(from: path)
        let wrapped = try HuggingFaceTokenizer.load(from: path)
        XCTAssertEqual(wrapped.modelType, "BPE")
        for text in ["Hello world", "héllo <|endoftext|> 中文"] {
            XCTAssertEqual(wrapped.encode(text, addSpecialTokens: false), bpe.encode(text))
            XCTAssertEqual(wrapped.decode(bpe.encode(text), skipSpecialTokens: false), text)
        }
    }
}
