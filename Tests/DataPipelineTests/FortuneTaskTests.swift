import DataPipeline
import Foundation
import XCTest

/// The fortunes task: fortunes split at `%`, ambiguous duplicates dropped, a deterministic split, JSON
/// lines that load back, and a missing category named in one line.
final class FortuneTaskTests: XCTestCase {
    func makeFortunes() throws -> String {
        let dir = NSTemporaryDirectory() + "fortunes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let a = (0..<100).map { "Computers fortune \($0).\n  -- somebody" }.joined(separator: "\n%\n") + "\n%\nShared one\n%\n\n%\n"
        let b = (0..<60).map { "Love \"fortune\" \($0)" }.joined(separator: "\n%\n") + "\n%\nShared one\n"
        try a.write(toFile: dir + "/computers", atomically: true, encoding: .utf8)
        try b.write(toFile: dir + "/love", atomically: true, encoding: .utf8)
        try "x".write(toFile: dir + "/computers.dat", atomically: true, encoding: .utf8)
        return dir
    }

    func testSplitsLabelsAndRoundTrips() throws {
        let dir = try makeFortunes()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let task = try FortuneTask.build(directory: dir, categories: ["computers", "love"], testFraction: 0.25)
        let all = task.train.texts + task.test.texts
        XCTAssertEqual(all.count, 160, "100 + 60 fortunes; the empty one and the one in both files are dropped")
        XCTAssertFalse(all.contains("Shared one"))
        XCTAssertTrue(all.contains("Computers fortune 7.\n  -- somebody"), "multi-line fortunes keep their lines")
        XCTAssertEqual(Set(task.train.texts).intersection(task.test.texts), [])
        XCTAssertEqual(Double(task.test.texts.count) / 160, 0.25, accuracy: 0.1)
        for d in [task.train, task.test] {
            for (text, label) in zip(d.texts, d.labels) { XCTAssertEqual(label, text.hasPrefix("Love") ? 1 : 0, text) }
        }
        let again = try FortuneTask.build(directory: dir, categories: ["computers", "love"], testFraction: 0.25)
        XCTAssertEqual(again.test, task.test, "the split is deterministic")
        XCTAssertNotEqual(try FortuneTask.build(directory: dir, categories: ["computers", "love"], testFraction: 0.25, seed: 1).test, task.test)
        let file = dir + "/test.jsonl"
        try FortuneTask.jsonLines(task.test).write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ClassificationDataset.load(path: file, numLabels: 2, labelNames: task.test.labelNames), task.test)
    }

    /// Categories given in any order get the ids `ClassificationDataset.load` (and so the fine-tuned
    /// model) gives the names in the files: sorted. labels.txt lists `labelNames`, so line k is id k.
    func testLabelIdsAreTheOrderFineTuningGivesTheNames() throws {
        let dir = try makeFortunes()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let task = try FortuneTask.build(directory: dir, categories: ["love", "computers"], testFraction: 0.25)
        XCTAssertEqual(task.train.labelNames, ["computers", "love"])
        let file = dir + "/train.jsonl"
        try FortuneTask.jsonLines(task.train).write(toFile: file, atomically: true, encoding: .utf8)
        let loaded = try ClassificationDataset.load(path: file, numLabels: 2)  // no names given: as finetune reads it
        XCTAssertEqual(loaded.labelNames, task.train.labelNames)
        XCTAssertEqual(loaded.labels, task.train.labels)
        for (text, label) in zip(loaded.texts, loaded.labels) { XCTAssertEqual(label, text.hasPrefix("Love") ? 1 : 0, text) }
    }

    func testCorpusHoldsEveryFortuneButTheTestOnes() throws {
        let dir = try makeFortunes()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "Other file fortune\n%\nAnother one\n".write(toFile: dir + "/people", atomically: true, encoding: .utf8)
        let task = try FortuneTask.build(directory: dir, categories: ["computers", "love"], testFraction: 0.25)
        let corpus = try FortuneTask.corpus(directory: dir, excluding: Set(task.test.texts))
        // Read back independently: documents are the text between lines that are exactly "%".
        let documents = corpus.text.components(separatedBy: "\n%\n").map { $0.trimmingCharacters(in: .newlines) }
        XCTAssertEqual(Set(documents).intersection(task.test.texts), [], "no test text is in the corpus")
        XCTAssertTrue(Set(task.train.texts).isSubset(of: Set(documents)), "every training text is")
        XCTAssertTrue(documents.contains("Other file fortune") && documents.contains("Another one"), "and other files' fortunes")
        XCTAssertTrue(documents.contains("Shared one"), "a fortune in no split stays")
        XCTAssertFalse(documents.contains("x"), "index files (with a dot) are not fortunes")
        XCTAssertEqual(corpus.excluded, task.test.texts.count)
        XCTAssertEqual(documents.count, 100 + 60 + 2 + 2 - task.test.texts.count, "both copies of the shared fortune, the two new ones")
    }

    func testMissingCategoryNamesTheAvailableOnes() throws {
        let dir = try makeFortunes()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try FortuneTask.build(directory: dir, categories: ["computers", "food"])) {
            XCTAssertEqual("\($0)", "--categories: food: no file \(dir)/food; available: computers, love")
        }
    }
}
