import Config
import Foundation
import TestSupport
import XCTest

/// Problems that used to surface late (a checkpoint without its tokenizer after a whole run, an
/// unwritable checkpoint directory at the first save, "NSCocoaErrorDomain error 512") are one line
/// from `pretrain train` before the first step, on 2 ranks.
final class StartupChecksTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = try TrainingFixtures.corpus()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func train(_ settings: [String]) throws -> ProcessRunner.Run {
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 1)
        config.training.steps = 3
        let file = dir + "/run.yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        return try ProcessRunner.mpirun(2, ["train", "--config", file, "--quiet"] + settings.flatMap { ["--set", $0] })
    }

    /// One `error:` line, equal to `expected`; no step was taken and no stack trace or Foundation error.
    func assertOneLine(_ run: ProcessRunner.Run, _ expected: String, runDir: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 2, run.output, file: file, line: line)
        XCTAssertEqual(run.lines.filter { $0.hasPrefix("error:") }, ["error: " + expected], run.output, file: file, line: line)
        XCTAssertFalse(run.output.contains("NSCocoaErrorDomain") || run.output.contains("Fatal error"), run.output, file: file, line: line)
        XCTAssertFalse(run.output.contains("MPI_ABORT") || run.output.contains("ORTE"), "every rank ends through MPI_Finalize: " + run.output, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDir + "/metrics/rank-00000.jsonl"), "no step was taken", file: file, line: line)
    }

    func testAMissingTokenizerIsAnErrorBeforeTheFirstStep() throws {
        let runDir = dir + "/run"
        let run = try train(["data.tokenizer=\(dir)/tokenizer.json", "logging.run_dir=\(runDir)"])
        assertOneLine(run, "data.tokenizer \(dir)/tokenizer.json: no such file; write it with `pretrain data prepare` (or `make data`), "
                      + "point data.tokenizer at your shards' tokenizer.json, or set data.tokenizer: '' to train without one "
                      + "(checkpoints then carry no tokenizer for `generate`)", runDir: runDir)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDir + "/checkpoints"))
    }

    func testARunDirUnderARegularFileIsOneClearLine() throws {
        try "not a directory".write(toFile: dir + "/plain", atomically: true, encoding: .utf8)
        let runDir = dir + "/plain/run"
        let run = try train(["logging.run_dir=\(runDir)"])
        assertOneLine(run, "logging.run_dir \(runDir) cannot be created (at \(dir)/plain): \(dir)/plain is a file, not a directory; "
                      + "set logging.run_dir to a directory this user can write", runDir: runDir)
    }

    func testACheckpointDirThatCannotBeWrittenIsFoundAtStartWithTheSystemsReason() throws {
        // /proc/self is a directory in which no file can be created, even by root.
        let probe = open("/proc/self/probe-by-test", O_CREAT | O_WRONLY, 0o600)
        let reason = String(cString: strerror(errno))
        guard probe < 0 else {
            close(probe)
            unlink("/proc/self/probe-by-test")
            return XCTFail("this system lets a file be created in /proc/self; the test needs a directory no user can write")
        }
        let runDir = dir + "/run"
        let run = try train(["logging.run_dir=\(runDir)", "checkpoint.dir=/proc/self", "checkpoint.every=1"])
        assertOneLine(run, "checkpoint.dir /proc/self is not writable: \(reason); set checkpoint.dir to a directory this user can write", runDir: runDir)
    }

    /// An explicitly empty data.tokenizer means none: the run trains and its checkpoint has no tokenizer.json.
    func testAnEmptyTokenizerMeansNone() throws {
        let runDir = dir + "/run"
        let run = try train(["data.tokenizer=''", "logging.run_dir=\(runDir)"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: runDir + "/checkpoints/step-00000003/manifest.json"), run.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDir + "/checkpoints/step-00000003/tokenizer.json"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: runDir).filter { $0.hasPrefix(".pretrain-write-check") }
        XCTAssertEqual(leftovers, [], "the probe files are removed")
    }

    /// A glob that matches nothing, or a path that does not exist, names the key (issue 22, point 8).
    func testMissingTrainingDataNamesTheKey() throws {
        let runDir = dir + "/run"
        let glob = try train(["data.train=\(dir)/nothing/train_*.bin", "logging.run_dir=\(runDir)"])
        assertOneLine(glob, "data.train \(dir)/nothing/train_*.bin matches no files; write shards with `pretrain data prepare --out DIR` "
                      + "(or `make data`) and set data.train to them, e.g. DIR/train_*.bin", runDir: runDir)
        let path = try train(["data.val=\(dir)/val.bin", "logging.run_dir=\(runDir)"])
        assertOneLine(path, "data.val \(dir)/val.bin: no such file or directory; write shards with `pretrain data prepare --out DIR` "
                      + "(or `make data`) and set data.val to them, e.g. DIR/val_*.bin", runDir: runDir)
    }
}
