import Foundation
import TestSupport
import XCTest

/// Checkpoints written before the model-layer refactor still load: a GPT and a BERT checkpoint written
/// by main at 0096c0f (Fixtures/legacy, made by its make_legacy.sh) resume and evaluate to the numbers
/// that binary printed for them.
final class LegacyCheckpointTests: XCTestCase {
    /// The committed fixture folder.
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/legacy").path

    /// A scratch copy of the fixture's data and one family's run.yaml (paths in it are relative).
    private func scratch(_ arch: String) throws -> String {
        let dir = NSTemporaryDirectory() + "legacy-\(arch)-\(UUID().uuidString.prefix(8))"
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/runs/\(arch)/checkpoints", withIntermediateDirectories: true)
        try fm.copyItem(atPath: Self.fixtures + "/data", toPath: dir + "/data")
        try fm.copyItem(atPath: Self.fixtures + "/\(arch)/run.yaml", toPath: dir + "/run.yaml")
        try fm.copyItem(atPath: Self.fixtures + "/\(arch)/step-00000004", toPath: dir + "/runs/\(arch)/checkpoints/step-00000004")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Runs `pretrain arguments` with `dir` as the working directory.
    private func pretrain(in dir: String, _ arguments: [String]) throws -> ProcessRunner.Run {
        let binary = try ProcessRunner.pretrainBinary()
        let quoted = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        return try ProcessRunner.execute("/bin/sh", ["-c", "cd '\(dir)' && exec " + quoted.joined(separator: " ")])
    }

    /// (step, loss, grad_norm) of each step line in a metrics JSON-lines text.
    private func steps(_ text: String) throws -> [(step: Int, loss: Double, gradNorm: Double)] {
        try text.split(separator: "\n").compactMap { line in
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let step = object["step"] as? Int, let loss = object["loss"] as? Double,
                  let norm = object["grad_norm"] as? Double else { return nil }
            return (step, loss, norm)
        }
    }

    private func assertResumesToTheOldNumbers(_ arch: String) throws {
        let dir = try scratch(arch)
        let run = try pretrain(in: dir, ["train", "--config", "run.yaml", "--quiet", "--resume", "runs/\(arch)/checkpoints/step-00000004"])
        XCTAssertEqual(run.status, 0, run.output)
        let now = try steps(String(contentsOfFile: dir + "/runs/\(arch)/metrics/rank-00000.jsonl", encoding: .utf8))
        let then = try steps(String(contentsOfFile: Self.fixtures + "/expected/\(arch)-resumed.jsonl", encoding: .utf8))
        XCTAssertEqual(now.map(\.step), [5, 6, 7, 8])
        XCTAssertEqual(now.map(\.step), then.map(\.step))
        // The metrics print 7 significant digits; the same operations give the same digits.
        XCTAssertEqual(now.map(\.loss), then.map(\.loss), "\(arch) losses after resuming the old checkpoint")
        XCTAssertEqual(now.map(\.gradNorm), then.map(\.gradNorm), "\(arch) gradient norms after resuming the old checkpoint")
    }

    func testOldGPTCheckpointResumesToTheSameLosses() throws { try assertResumesToTheOldNumbers("gpt") }

    func testOldBERTCheckpointResumesToTheSameLosses() throws { try assertResumesToTheOldNumbers("bert") }

    /// A checkpoint of one family resumed into a config of the other is named as such, in one line,
    /// and the checkpoint is left as it was.
    func testACheckpointOfAnotherFamilySaysWhichFamilies() throws {
        for (checkpointArch, configArch) in [("gpt", "bert"), ("bert", "gpt")] {
            let dir = try scratch(configArch)
            let source = Self.fixtures + "/\(checkpointArch)/step-00000004"
            let before = try FileManager.default.contentsOfDirectory(atPath: source).sorted()
            let run = try pretrain(in: dir, ["train", "--config", "run.yaml", "--quiet", "--resume", source])
            XCTAssertNotEqual(run.status, 0, run.output)
            let errors = run.lines.filter { $0.hasPrefix("error: ") }
            XCTAssertEqual(errors.count, 1, run.output)
            let family = checkpointArch.uppercased()
            XCTAssertTrue(errors.first?.contains("is a \(family) checkpoint; the config's model.arch is \(configArch)") ?? false, run.output)
            XCTAssertFalse(run.output.contains("damaged"), run.output)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: source).sorted(), before)
        }
    }

    func testOldGPTCheckpointEvaluatesToTheSameLoss() throws {
        let dir = try scratch("gpt")
        let run = try pretrain(in: dir, ["eval", "--checkpoint", "runs/gpt/checkpoints/step-00000004", "--data", "data/val_*.bin", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let expected = try String(contentsOfFile: Self.fixtures + "/expected/gpt-eval.txt", encoding: .utf8)
        let loss = { (text: String) in text.split(separator: "|").first.map { $0.trimmingCharacters(in: .whitespaces) } }
        XCTAssertEqual(loss(run.output), loss(expected), run.output)
        XCTAssertTrue(expected.hasPrefix("val loss "), expected)
    }

    func testOldBERTCheckpointFillsMasksWithTheSameProbabilities() throws {
        let run = try ProcessRunner.pretrain(["predict", "--task", "fill-mask", "--checkpoint", Self.fixtures + "/bert/step-00000004",
                                              "The computer is a [MASK] machine.", "--top-k", "5", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let expected = try String(contentsOfFile: Self.fixtures + "/expected/bert-fill-mask.txt", encoding: .utf8)
        XCTAssertEqual(run.lines, expected.split(separator: "\n").map(String.init))
        XCTAssertEqual(run.lines.count, 5)
    }
}
