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

    /// The answers come through a pipe (no terminal, no flag), one a line, as `printf … | pretrain config`.
    func testWizardWritesACommentedConfigFromPipedAnswers() throws {
        let out = dir + "/run.yaml"
        // machines, processes, threads, affinity, arch, size, precision, train, val, tokenizer, steps, micro_batch, global, lr, run dir
        let answers = ["1", "2", "1", "no", "gpt", "small", "no", "shards/train_*.bin", "", "''", "40", "4", "16", "1e-3", dir + "/run"]
        let run = try CommandRun.run(pretrain, ["config", "--out", out], input: answers.joined(separator: "\n") + "\n")
        XCTAssertTrue(run.stdout.contains("Model size: tiny ("), run.stdout)
        XCTAssertTrue(run.stdout.contains("small (") && run.stdout.contains("gpt2 (124M parameters) or custom? [tiny]"), run.stdout)
        XCTAssertEqual(run.status, 0, run.stderr + run.stdout)
        XCTAssertTrue(run.stdout.hasSuffix("wrote \(out); launch it with `pretrain launch --config \(out)`\n"), run.stdout)
        let c = try ConfigLoader.load(path: out)
        XCTAssertEqual(c.launch.numProcesses, 2)
        XCTAssertEqual(c.launch.threadsPerProcess, 1)
        XCTAssertEqual([c.model.vocabSize, c.model.nLayer, c.model.nHead, c.model.dModel, c.training.seqLen], [8192, 6, 6, 384, 256])
        XCTAssertEqual(c.modelPreset, .small)
        XCTAssertEqual(c.data.tokenizer, "")
        XCTAssertEqual(c.data.train, "shards/train_*.bin")
        XCTAssertEqual(c.training.steps, 40)
        XCTAssertEqual(c.training.microBatch, 4)
        XCTAssertEqual(c.training.globalBatch, 16)
        XCTAssertEqual(c.optimizer.lr, 1e-3)
        XCTAssertEqual(c.logging.runDir, dir + "/run")
        XCTAssertEqual(c.checkpoint.dir, "", "checkpoints follow logging.run_dir")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.contains("  # peak learning rate\n"), text)
        XCTAssertTrue(text.contains("  # total ranks across all machines\n"), text)
    }

    func testNoAnswersOnStdinPointToDefaults() throws {
        let run = try CommandRun.run(pretrain, ["config", "--out", dir + "/x.yaml"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.errorLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("error: input ended before every question was answered (at: How many machines"), run.stderr)
        XCTAssertTrue(run.stderr.hasSuffix("or use `pretrain config --defaults --out FILE`\n"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.yaml"))
    }

    func testDefaultsWriteALoadableFileWithoutQuestions() throws {
        let out = dir + "/defaults.yaml"
        let run = try CommandRun.run(pretrain, ["config", "--defaults", "--out", out])
        XCTAssertEqual(run.status, 0, run.stderr)
        let c = try ConfigLoader.load(path: out)
        XCTAssertEqual(c, RunConfig())
        // Not GPT-2 124M: the default shape is the tiny preset's, a run of minutes.
        XCTAssertEqual([c.model.vocabSize, c.model.maxSeqLen, c.model.nLayer, c.model.nHead, c.model.dModel],
                       ModelPreset.tiny.shapeSettings.map { Int($0.split(separator: "=")[1])! })
        let again = try CommandRun.run(pretrain, ["config", "--defaults", "--out", out])
        XCTAssertEqual(again.stderr, "error: \(out) exists; choose another --out or add --force to replace it\n")
        XCTAssertEqual(try CommandRun.run(pretrain, ["config", "--defaults", "--out", out, "--force"]).status, 0)
    }

    func testAnswersEndingEarlyAreOneLine() throws {
        let run = try CommandRun.run(pretrain, ["config", "--out", dir + "/y.yaml"], input: "1\n")
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.errorLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("error: input ended before every question was answered (at: How many processes"), run.stderr)
    }
}
