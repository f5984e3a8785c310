import Config
import Foundation
import TestSupport
import XCTest

/// `pretrain config` as a user runs it: the wizard on piped answers, --defaults, refusals.
final class ConfigCommandTests: XCTestCase {
    var pretrain = ""
    var dir = ""

    override func setUpWithError() throws {
        pretrain = try ProcessRunner.pretrainBinary()
        dir = try LaunchFixtures.temporaryDirectory("config")
    }

    func testWizardWritesACommentedConfigFromPipedAnswers() throws {
        let out = dir + "/run.yaml"
        // machines, processes, threads, affinity, precision, model, train, val, steps, micro_batch, global, lr, run dir
        let answers = ["1", "2", "1", "no", "no", "bench-s", "shards/train_*.bin", "", "40", "4", "16", "1e-3", dir + "/run"]
        let run = try CommandRun.run(pretrain, ["config", "--answers-from-stdin", "--out", out], input: answers.joined(separator: "\n") + "\n")
        XCTAssertEqual(run.status, 0, run.stderr + run.stdout)
        XCTAssertTrue(run.stdout.hasSuffix("wrote \(out); launch it with `pretrain launch --config \(out)`\n"), run.stdout)
        let c = try ConfigLoader.load(path: out)
        XCTAssertEqual(c.launch.numProcesses, 2)
        XCTAssertEqual(c.launch.threadsPerProcess, 1)
        XCTAssertEqual([c.model.vocabSize, c.model.nLayer, c.model.nHead, c.model.dModel, c.training.seqLen], [8192, 6, 6, 384, 256])
        XCTAssertEqual(c.data.train, "shards/train_*.bin")
        XCTAssertEqual(c.training.steps, 40)
        XCTAssertEqual(c.training.microBatch, 4)
        XCTAssertEqual(c.training.globalBatch, 16)
        XCTAssertEqual(c.optimizer.lr, 1e-3)
        XCTAssertEqual(c.checkpoint.dir, dir + "/run/checkpoints")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.contains("  # peak learning rate\n"), text)
        XCTAssertTrue(text.contains("  # total ranks across all machines\n"), text)
    }

    func testWithoutATerminalTheWizardPointsToDefaults() throws {
        let run = try CommandRun.run(pretrain, ["config", "--out", dir + "/x.yaml"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderr, "error: no terminal to ask questions on; use `pretrain config --defaults --out \(dir)/x.yaml`\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.yaml"))
    }

    func testDefaultsWriteALoadableFileWithoutQuestions() throws {
        let out = dir + "/defaults.yaml"
        let run = try CommandRun.run(pretrain, ["config", "--defaults", "--out", out])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try ConfigLoader.load(path: out), RunConfig())
        let again = try CommandRun.run(pretrain, ["config", "--defaults", "--out", out])
        XCTAssertEqual(again.stderr, "error: \(out) exists; choose another --out or add --force to replace it\n")
        XCTAssertEqual(try CommandRun.run(pretrain, ["config", "--defaults", "--out", out, "--force"]).status, 0)
    }

    func testAnswersEndingEarlyAreOneLine() throws {
        let run = try CommandRun.run(pretrain, ["config", "--answers-from-stdin", "--out", dir + "/y.yaml"], input: "1\n")
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.errorLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("error: input ended before every question was answered (at: How many processes"), run.stderr)
    }
}
