import DataPipeline
import Foundation
import XCTest

/// WordPiece training against Hugging Face's `WordPieceTrainer` on Fixtures/hf-tokenizers/corpus.txt
/// (vocab 300, min_frequency 2; fixture: make_hf_tokenizers.py), and `data prepare` with it.
final class WordPieceTrainerTests: XCTestCase {
    private func runs() throws -> [[String]] {
        let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: Fixtures.path("hf-tokenizers/wordpiece-trainer.json")))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(object["runs"] as? [[String]])
    }

    private func wordCounts() throws -> [String: Int64] {
        let text = try String(contentsOfFile: Fixtures.path("hf-tokenizers/corpus.txt"), encoding: .utf8)
        return WordPieceTrainer.countWords(text.split(separator: "\n").map(String.init))
    }

    /// HF numbers the `##` characters in hash-map order, so its runs differ; given a run's order,
    /// the trainer must give that run's vocabulary exactly, id for id.
    func testGivenHuggingFacesContinuationOrderTheVocabularyIsIdentical() throws {
        let counts = try wordCounts()
        let all = try runs()
        XCTAssertGreaterThanOrEqual(all.count, 2)
        for (index, run) in all.enumerated() {
            let order = run.filter { $0.hasPrefix("##") && $0.unicodeScalars.count == 3 }
            var trainer = WordPieceTrainer(vocabularySize: 300, minFrequency: 2)
            trainer.continuationOrder = order
            XCTAssertEqual(trainer.train(wordCounts: counts), run, "run \(index)")
        }
    }

    func testDefaultOrderKeepsSpecialsAlphabetAndSize() throws {
        let counts = try wordCounts()
        let reference = try runs()[0]
        let vocabulary = WordPieceTrainer(vocabularySize: 300, minFrequency: 2).train(wordCounts: counts)
        XCTAssertEqual(vocabulary.count, 300)
        XCTAssertEqual(Array(vocabulary.prefix(5)), WordPieceTrainer.bertSpecials)
        let alphabet = reference.prefix { !$0.hasPrefix("##") }.count
        XCTAssertEqual(Array(vocabulary.prefix(alphabet)), Array(reference.prefix(alphabet)))
        XCTAssertEqual(Set(vocabulary.filter { $0.hasPrefix("##") && $0.unicodeScalars.count == 3 }),
                       Set(reference.filter { $0.hasPrefix("##") && $0.unicodeScalars.count == 3 }))
    }

    func testPrepareTrainsWordPieceAndShardsWithIt() throws {
        let root = try makeTemporaryDirectory("wordpiece")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var settings = PrepareSettings(inputs: [Fixtures.path("hf-tokenizers/corpus.txt")], outputDirectory: root + "/out",
                                       vocabularySize: 300, valFraction: 0.1)
        settings.tokenizerModel = "wordpiece"
        settings.lineDocuments = true
        let (manifest, _) = try DataPreparer(settings: settings, threads: 2, showProgress: false).run()
        XCTAssertEqual(manifest.vocabularySize, 300)
        XCTAssertEqual(manifest.documents, 600)
        let tokenizer = try HuggingFaceTokenizer.load(from: root + "/out/tokenizer.json")
        XCTAssertEqual(tokenizer.modelType, "WordPiece")
        XCTAssertEqual((0..<5).map { tokenizer.token(of: Int32($0)) }, WordPieceTrainer.bertSpecials)
        XCTAssertEqual(tokenizer.encode("café", pair: "x").first, tokenizer.id(of: "[CLS]"))
        let shard = try TokenShard(path: root + "/out/train_000000.bin")
        XCTAssertEqual(shard[0], tokenizer.id(of: "[SEP]"))
        let firstLine = try XCTUnwrap(String(contentsOfFile: Fixtures.path("hf-tokenizers/corpus.txt"), encoding: .utf8).split(separator: "\n").first)
        let ids = tokenizer.encodeOrdinary(String(firstLine))
        XCTAssertEqual((1...ids.count).map { shard[$0] }, ids)
        // The same settings again: up to date. A Unigram file in wordpiece mode: one line.
        XCTAssertTrue(try DataPreparer(settings: settings, threads: 2, showProgress: false).run().upToDate)
        var wrong = settings
        wrong.vocabularySize = nil
        wrong.tokenizerPath = Fixtures.path("hf-tokenizers/unigram.json")
        wrong.outputDirectory = root + "/wrong"
        XCTAssertThrowsError(try DataPreparer(settings: wrong, threads: 1, showProgress: false).run()) { error in
            XCTAssertTrue("\(error)".contains("Unigram"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/wrong/prepare.json"))
    }
}
