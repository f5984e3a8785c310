import DataPipeline
import XCTest
import Support

/// BPETrainer against a slow reference that recounts every pair before every merge.
final class BPETrainerTests: XCTestCase {
    /// Documents of lowercase words separated by single spaces, so the GPT-2 split is simply
    /// "first word, then ' word' for each later word" and the reference can split by hand.
    private func corpus(seed: UInt64, documents: Int) -> [String] {
        var rng = SplitMix64(seed: seed)
        let stems = ["ab", "abc", "aaa", "bca", "ca", "aab", "bb", "c", "abab", "cab", "ba"]
        return (0..<documents).map { _ in
            (0..<(3 + Int(rng.next(below: 12)))).map { _ in
                (0..<(1 + Int(rng.next(below: 3)))).map { _ in stems[Int(rng.next(below: UInt64(stems.count)))] }.joined()
            }.joined(separator: " ")
        }
    }

    /// Bytes sorted by the character GPT-2 shows them as: printable bytes keep their own code
    /// point, the other 68 become U+0100 onwards in byte order.
    private let alphabetOrder: [Int] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        return printable + (0..<256).filter { !printable.contains($0) }
    }()

    /// The reference: word counts by hand, then per merge a full recount of pairs.
    private func referenceMerges(_ documents: [String], vocabularySize: Int, specials: Int, minFrequency: Int)
        -> (merges: [[UInt8]], tokens: [[UInt8]])
    {
        var counts: [[UInt8]: Int] = [:]
        for document in documents {
            for (index, word) in document.split(separator: " ").enumerated() {
                counts[Array(((index == 0 ? "" : " ") + word).utf8), default: 0] += 1
            }
        }
        var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
        var words = counts.map { (symbols: $0.key.map { Int($0) }, count: $0.value) }
        var merges: [[UInt8]] = []
        while tokens.count < vocabularySize - specials {
            var pairCounts: [[Int]: Int] = [:]
            for word in words where word.symbols.count > 1 {
                for i in 0..<(word.symbols.count - 1) { pairCounts[[word.symbols[i], word.symbols[i + 1]], default: 0] += word.count }
            }
            // Ties: bytes ordered by their GPT-2 alphabet character, before merged tokens.
            func order(_ id: Int) -> Int { id < 256 ? alphabetOrder.firstIndex(of: id)! : id }
            guard let best = pairCounts.max(by: { a, b in
                a.value != b.value ? a.value < b.value : (order(a.key[0]), order(a.key[1])) > (order(b.key[0]), order(b.key[1]))
            }), best.value >= minFrequency else { break }
            let joined = tokens[best.key[0]] + tokens[best.key[1]]
            let id = tokens.firstIndex(of: joined) ?? tokens.count
            if id == tokens.count { tokens.append(joined) }
            merges.append(tokens[best.key[0]] + [0x20, 0x7C, 0x20] + tokens[best.key[1]])
            for w in words.indices {
                var out: [Int] = []
                var i = 0
                let s = words[w].symbols
                while i < s.count {
                    if i + 1 < s.count, s[i] == best.key[0], s[i + 1] == best.key[1] {
                        out.append(id)
                        i += 2
                    } else {
                        out.append(s[i])
                        i += 1
                    }
                }
                words[w].symbols = out
            }
        }
        return (merges, tokens)
    }

    func testMergesMatchSlowReference() throws {
        for (seed, vocabulary, minFrequency) in [(1 as UInt64, 300, 2 as Int64), (2, 340, 1), (3, 280, 5)] {
            let documents = corpus(seed: seed, documents: 400)
            let trainer = try BPETrainer(vocabularySize: vocabulary, minFrequency: minFrequency)
            let tokenizer = try trainer.train(documents: documents.map { Array($0.utf8) })
            let reference = referenceMerges(documents, vocabularySize: vocabulary, specials: 5, minFrequency: Int(minFrequency))
            let ours = tokenizer.merges.map { tokenizer.bytes(of: $0.left) + [0x20, 0x7C, 0x20] + tokenizer.bytes(of: $0.right) }
            XCTAssertFalse(ours.isEmpty)
            XCTAssertEqual(ours.count, reference.merges.count, "seed \(seed)")
            for (index, (a, b)) in zip(ours, reference.merges).enumerated() where a != b {
                XCTFail("seed \(seed) merge \(index): \(String(decoding: a, as: UTF8.self)) vs \(String(decoding: b, as: UTF8.self))")
                break
            }
            for (id, token) in reference.tokens.enumerated() {
                XCTAssertEqual(tokenizer.bytes(of: Int32(id)), token, "seed \(seed) id \(id)")
            }
            XCTAssertEqual(tokenizer.addedTokens.map(\.content), AddedToken.defaultSpecials)
            XCTAssertEqual(tokenizer.endOfText, Int32(reference.tokens.count))
        }
    }

    func testLearnsTheMergesOfPythonTokenizersTrainer() throws {
        // hf-merges.json: tokenizers' BpeTrainer on the fixture strings (vocab 700, min frequency 2,
        // byte-level alphabet, the same 5 special tokens); it runs out of pairs before 700.
        let texts = try Fixtures.list("pretokenize.json").map { try XCTUnwrap($0["text"] as? String) }
        let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hf-merges.json")))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String])
        let tokenizer = try BPETrainer(vocabularySize: 700).train(documents: texts.map { Array($0.utf8) })
        let ours = tokenizer.merges.map { ByteLevel.encode(tokenizer.bytes(of: $0.left)) + " " + ByteLevel.encode(tokenizer.bytes(of: $0.right)) }
        XCTAssertEqual(ours.count, expected.count)
        XCTAssertEqual(ours, expected)
        XCTAssertEqual(tokenizer.vocabularySize, 256 + expected.count + 5)
    }

    func testReachesRequestedSizeAndIgnoresThreadCount() throws {
        let documents = corpus(seed: 9, documents: 3000).map { Array($0.utf8) }
        let one = try BPETrainer(vocabularySize: 400, threads: 1).train(documents: documents)
        let two = try BPETrainer(vocabularySize: 400, threads: 2).train(documents: documents)
        XCTAssertEqual(one.vocabularySize, 400)
        XCTAssertEqual(one.jsonText(), two.jsonText())
        let text = documents[0] + Array(" bcab aaab".utf8)
        XCTAssertEqual(one.decode(one.encode(bytes: text)), text)
    }

    func testTooSmallVocabularyIsAnError() {
        XCTAssertThrowsError(try BPETrainer(vocabularySize: 260)) { error in
            XCTAssertEqual(error as? DataError, .vocabularyTooSmall(requested: 260, minimum: 261))
            XCTAssertTrue("\(error)".contains("--vocab-size 261"))
        }
        XCTAssertNoThrow(try BPETrainer(vocabularySize: 261))
    }
}
