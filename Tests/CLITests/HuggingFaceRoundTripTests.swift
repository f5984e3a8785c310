import Foundation
import TestSupport
import XCTest

/// `checkpoint export` then `checkpoint import` gives back a checkpoint that computes what the original
/// did, for both families (the family comes from config.json's model_type), and a model_type no family
/// imports is one line naming it.
final class HuggingFaceRoundTripTests: XCTestCase {
    private func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "hf-round-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Exports the legacy fixture checkpoint of `arch` and imports the export into `dir/imported`.
    private func roundTrip(_ arch: String, in dir: String) throws -> String {
        let source = LegacyCheckpointTests.fixtures + "/\(arch)/step-00000004"
        let exported = try ProcessRunner.pretrain(["checkpoint", "export", source, "--out", dir + "/hf"])
        XCTAssertEqual(exported.status, 0, exported.output)
        let imported = try ProcessRunner.pretrain(["checkpoint", "import", dir + "/hf", "--out", dir + "/imported"])
        XCTAssertEqual(imported.status, 0, imported.output)
        XCTAssertTrue(imported.output.contains("into \(dir)/imported/step-00000000"), imported.output)
        return dir + "/imported/step-00000000"
    }

    func testBERTExportImportsBackAndFillsMasksAsBefore() throws {
        let dir = try temporaryDirectory()
        let checkpoint = try roundTrip("bert", in: dir)
        let run = try ProcessRunner.pretrain(["predict", "--task", "fill-mask", "--checkpoint", checkpoint,
                                              "The computer is a [MASK] machine.", "--top-k", "5", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let expected = try String(contentsOfFile: LegacyCheckpointTests.fixtures + "/expected/bert-fill-mask.txt", encoding: .utf8)
        XCTAssertEqual(run.lines, expected.split(separator: "\n").map(String.init))
    }

    func testGPTExportImportsBackAndEvaluatesAsBefore() throws {
        let dir = try temporaryDirectory()
        let checkpoint = try roundTrip("gpt", in: dir)
        let data = LegacyCheckpointTests.fixtures + "/data/val_*.bin"
        let run = try ProcessRunner.pretrain(["eval", "--checkpoint", checkpoint, "--data", data, "--micro-batch", "4", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let expected = try String(contentsOfFile: LegacyCheckpointTests.fixtures + "/expected/gpt-eval.txt", encoding: .utf8)
        let loss = { (text: String) in text.split(separator: "|").first.map { $0.trimmingCharacters(in: .whitespaces) } }
        XCTAssertEqual(loss(run.output), loss(expected), run.output)
    }

    func testAModelTypeNoFamilyImportsIsOneLine() throws {
        let dir = try temporaryDirectory()
        try "{\"model_type\": \"llama\"}".write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let run = try ProcessRunner.pretrain(["checkpoint", "import", dir, "--out", dir + "/imported"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.lines.count, 1, run.output)
        XCTAssertTrue(run.output.contains("model_type is llama; pretrain imports gpt2, bert, t5"), run.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/imported"))
    }
}
