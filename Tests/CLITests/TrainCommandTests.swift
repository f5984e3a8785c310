import Config
import Distributed
import Foundation
import TestSupport
import Training
import XCTest

/// `pretrain train` under real mpirun: 1, 2 and 4 ranks (4 oversubscribed) agree step by step, also
/// with ZeRO-1 and with bf16 compression; a stalled, desynchronised or dead rank ends the job with a
/// message naming it.
final class TrainCommandTests: XCTestCase {
    /// Every step record of rank 0's metrics file.
    func records(_ runDir: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: runDir + "/metrics/rank-00000.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> [String: Any]? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["loss"] == nil ? nil : object
        }
    }

    func losses(_ runDir: String) throws -> [Double] {
        try records(runDir).map { $0["loss"] as! Double }
    }

    /// Writes the shared config of these tests: global batch 8 (accumulation 4 on 1 rank, 2 on 2, 1 on 4).
    func writeConfig(_ dir: String, _ edit: (inout RunConfig) -> Void = { _ in }) throws -> String {
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 1)
        config.training.globalBatch = 8
        edit(&config)
        let file = dir + "/run-\(UUID().uuidString.prefix(8)).yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// `mpirun -n ranks pretrain train` into `runDir`; returns the run.
    func train(_ ranks: Int, _ file: String, _ runDir: String, _ extra: [String] = [], timeout: TimeInterval = 120) throws -> ProcessRunner.Run {
        try ProcessRunner.mpirun(ranks, ["train", "--config", file, "--set", "num_processes=\(ranks)",
                                         "--set", "logging.run_dir=\(runDir)", "--quiet"] + extra, timeout: timeout)
    }

    func testMPIRanksEqualOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir)
        let zeroFile = try writeConfig(dir) { $0.training.zero1 = true }
        var one: [Double] = []
        for (ranks, config, label) in [(1, file, "plain"), (2, file, "plain"), (4, file, "plain"), (2, zeroFile, "ZeRO-1"), (4, zeroFile, "ZeRO-1")] {
            let runDir = dir + "/run-\(label)-\(ranks)"
            let run = try train(ranks, config, runDir)
            XCTAssertEqual(run.status, 0, run.output)
            let curve = try losses(runDir)
            XCTAssertEqual(curve.count, 20, "one metrics record per step on \(ranks) ranks (\(label))")
            if ranks == 1 {
                one = curve
                XCTAssertLessThan(one.last!, one.first! - 0.5, "the loss falls")
                continue
            }
            for (i, (a, b)) in zip(curve, one).enumerated() {
                XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "\(ranks) MPI ranks (\(label)), step \(i + 1)")
            }
            let record = try XCTUnwrap(records(runDir).last)
            for key in ["step", "loss", "lr", "grad_norm", "tokens_per_s", "mfu", "compute_ms", "comm_ms", "exposed_comm_ms"] {
                XCTAssertNotNil(record[key], "metrics record has \(key)")
            }
        }
    }

    func testMPIWithBF16MatchesInProcessBitForBitAndStaysNearOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir)
        let bf16 = try writeConfig(dir) { $0.training.gradCompression = .bf16 }
        let oneDir = dir + "/one", twoDir = dir + "/bf16-2", fourDir = dir + "/bf16-4"
        for (ranks, config, runDir) in [(1, file, oneDir), (2, bf16, twoDir), (4, bf16, fourDir)] {
            let run = try train(ranks, config, runDir)
            XCTAssertEqual(run.status, 0, run.output)
        }
        let one = try losses(oneDir)
        // Bound stated in TrainerTests.testBF16CompressionStaysCloseToOneRankInFloat.
        for runDir in [twoDir, fourDir] {
            for (i, (a, b)) in zip(try losses(runDir), one).enumerated() {
                XCTAssertEqual(a, b, accuracy: 2e-4 * abs(b), "\(runDir): bf16 step \(i + 1)")
            }
        }
        // Two ranks add each pair of bfloat16 values once, in Float, in MPI's user op as in-process:
        // the in-process run must print the very same losses.
        var config = try ConfigLoader.load(path: bf16, overrides: ["num_processes=2"])
        config.logging.runDir = dir + "/in-process"
        let inProcess = try InProcessGroup.run(size: 2) { comm -> [String] in
            var printed: [String] = []
            let trainer = try Trainer(config: config, comm: comm, threads: 1) { event in
                if case let .step(m) = event { printed.append(String(format: "%.6f", m.loss)) }
            }
            try trainer.run()
            return printed
        }
        XCTAssertEqual(try losses(twoDir).map { String(format: "%.6f", $0) }, inProcess[0], "MPI bf16 sum = in-process bf16 sum")
    }

    /// Two ranks on one busy host sum gradients after backward progressively (the rank done first sums
    /// what the other has finished), the tied token-embedding table as soon as the head has finished
    /// it and its lookup rows apart: the run ends with the very parameters and AdamW moments (the
    /// final checkpoint's shard checksums) of two in-process ranks that send the table during backward
    /// and its rows apart, the same sums in the same order. With `PRETRAIN_PROGRESSIVE_SUM=0` one plain
    /// sum after backward runs instead and ends as two in-process ranks doing that. The start line
    /// says which schedule ran.
    func testProgressiveGradientSumEqualsInProcessBitForBit() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir) { $0.model.residualDropout = 0.1 }
        let runs = [("progressive", [:], "gradients summed after backward, progressively (token-embedding rows apart), ", true),
                    ("plain", ["PRETRAIN_PROGRESSIVE_SUM": "0"], "gradients summed after backward, ", false)]
        for (label, environment, line, overlapInProcess) in runs {
            let runDir = dir + "/run-\(label)"
            let run = try ProcessRunner.mpirun(2, ["train", "--config", file, "--set", "num_processes=2", "--set", "logging.run_dir=\(runDir)",
                                                   "--grad-sync", "after-backward"], timeout: 120, environment: environment)
            XCTAssertEqual(run.status, 0, run.output)
            XCTAssertTrue(run.output.contains("fp32, " + line), run.output)
            var config = try ConfigLoader.load(path: file, overrides: ["num_processes=2"])
            config.logging.runDir = dir + "/in-process-\(label)"
            let inProcess = try Self.trainInProcess(config, ranks: 2) { options in
                options.overlapCommunication = overlapInProcess
                options.deferTokenEmbedding = overlapInProcess
            } check: { trainer in
                XCTAssertFalse(trainer.reducesProgressively, "in process: no progressive sum")
                XCTAssertEqual(trainer.defersTokenEmbedding, overlapInProcess)
            }
            XCTAssertEqual(inProcess.count, 20)
            let expected = try Self.checksums(config.logging.runDir)
            XCTAssertEqual(expected.count, 2, "one shard per rank")
            XCTAssertEqual(try Self.checksums(runDir), expected, "\(label) MPI sum: the same parameters and moments as in process, bit for bit")
            XCTAssertEqual(try losses(runDir).map { String(format: "%.6f", $0) }, inProcess, "\(label) MPI sum: the same losses as in process")
        }
    }

    /// ZeRO-1 on three ranks of one host: gradients are reduce-scattered and parameters all-gathered
    /// through the single-node transport, each block summed in rank order, and the shards' squared
    /// norms added in rank order, so the run ends with the very parameters and sharded AdamW moments
    /// (final checkpoint's shard checksums) and losses of three in-process ranks. (MPI's own
    /// reduce-scatter, `PRETRAIN_SINGLE_NODE_ALLREDUCE=0`, adds three ranks in another order and ends
    /// elsewhere.)
    func testZeroOneOnOneHostEqualsInProcessBitForBit() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir) {
            $0.training.zero1 = true
            $0.training.globalBatch = 3 * $0.training.microBatch
        }
        let runDir = dir + "/run-zero"
        let run = try train(3, file, runDir)
        XCTAssertEqual(run.status, 0, run.output)
        var config = try ConfigLoader.load(path: file, overrides: ["num_processes=3"])
        config.logging.runDir = dir + "/in-process"
        let inProcess = try Self.trainInProcess(config, ranks: 3)
        let expected = try Self.checksums(config.logging.runDir)
        XCTAssertEqual(expected.count, 3, "one shard per rank")
        XCTAssertEqual(try Self.checksums(runDir), expected, "ZeRO-1 over MPI: the same parameters and moments as in process, bit for bit")
        XCTAssertEqual(try losses(runDir).map { String(format: "%.6f", $0) }, inProcess, "ZeRO-1 over MPI: the same losses as in process")
    }

    /// The shard checksums (parameters and AdamW moments) of the final checkpoint, step 20, in `runDir`.
    static func checksums(_ runDir: String) throws -> [String] {
        let path = runDir + "/checkpoints/step-00000020/manifest.json"
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        return (manifest["shards"] as! [[String: Any]]).map { $0["checksum"] as! String }
    }

    /// Trains `config` on `ranks` in-process ranks (one thread each, checkpoints on, `configure` for
    /// the rest); `check` sees rank 0's trainer before it runs. Returns rank 0's losses as printed.
    static func trainInProcess(_ config: RunConfig, ranks: Int, configure: @escaping (inout TrainerOptions) -> Void = { _ in },
                               check: @escaping (Trainer) -> Void = { _ in }) throws -> [String] {
        try InProcessGroup.run(size: ranks) { comm -> [String] in
            var losses: [String] = []
            var options = TrainerOptions()
            options.threads = 1
            options.checkpoints = true
            configure(&options)
            let trainer = try Trainer(config: config, comm: comm, options: options) { event in
                if case let .step(m) = event { losses.append(String(format: "%.6f", m.loss)) }
            }
            if comm.rank == 0 { check(trainer) }
            try trainer.run()
            return losses
        }[0]
    }

    func testStalledRankIsNamedAndTheJobEnds() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir) { $0.training.watchdogSeconds = 2 }
        // Rank 1 stops making progress at step 3 (as a stuck process would).
        let start = Date()
        let hung = try train(2, file, dir + "/hang", ["--inject-fault", "hang@1:3"], timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "ended within seconds, not at the test's timeout")
        XCTAssertNotEqual(hung.status, 0, hung.output)
        let line = hung.lines.first { $0.hasPrefix("error: rank 0: collective") } ?? ""
        XCTAssertTrue(line.contains("rank 1 has not arrived"), hung.output)
        XCTAssertTrue(line.contains("training.watchdog_seconds"), hung.output)

        // Rank 1 skips the loss allreduce of the last step; rank 0 waits in it while rank 1 moves on
        // to the parameter checksum (steps 20 is a multiple of checksum_interval 5): desynchronised.
        // (Skipped earlier, a later collective would be matched with the wrong partner's buffer,
        // which MPI does not check: undefined behaviour, typically a crash that mpirun reports.)
        let skipped = try train(2, file, dir + "/skip", ["--inject-fault", "skip-loss-allreduce@1:20"], timeout: 60)
        XCTAssertNotEqual(skipped.status, 0, skipped.output)
        let skipLine = skipped.lines.first { $0.hasPrefix("error: rank 0: collective") } ?? ""
        XCTAssertTrue(skipLine.contains("rank 1 issued") && skipLine.contains("instead"), skipped.output)
        XCTAssertLessThan(Date().timeIntervalSince(start), 40)
    }

    func testDeadRankEndsTheJob() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir) { $0.training.watchdogSeconds = 30 }
        let start = Date()
        let run = try train(2, file, dir + "/dead", ["--inject-fault", "exit@1:3"], timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "mpirun ends the job when a rank exits non-zero; no watchdog needed")
        XCTAssertEqual(run.status, 3, "the job's status is the dead rank's: " + run.output)
        XCTAssertTrue(run.output.contains("rank 1: injected fault: exiting with status 3 at step 3"), run.output)
        XCTAssertTrue(run.output.contains("exited with non-zero status") && run.output.contains("Exit code:    3"), run.output)
    }

    func testConfigErrorsAreOneLineFromRankZero() throws {
        let dir = NSTemporaryDirectory() + "badcfg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "optimizer:\n  lrr: 1\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let run = try ProcessRunner.mpirun(2, ["train", "--config", dir + "/bad.yaml"])
        XCTAssertNotEqual(run.status, 0)
        let errors = run.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, run.output)
        XCTAssertTrue(errors.first?.contains("did you mean `optimizer.lr`?") ?? false, run.output)
        XCTAssertFalse(run.output.contains("Fatal error"), run.output)
        // Every rank ends by itself with status 2: no abort, so none of OpenMPI's abort or ORTE text.
        XCTAssertEqual(run.status, 2, run.output)
        XCTAssertFalse(run.output.contains("MPI_ABORT") || run.output.contains("ORTE"), run.output)
    }

    /// A fresh run into a directory that holds an earlier run's checkpoints stops with one line (on 2
    /// ranks) and leaves them as they were; `--resume auto` continues from them instead.
    func testFreshRunDoesNotReplaceAnEarlierRunsCheckpoints() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try writeConfig(dir) { $0.training.steps = 2 }
        let runDir = dir + "/run"
        XCTAssertEqual(try train(2, file, runDir).status, 0)
        let manifest = runDir + "/checkpoints/step-00000002/manifest.json"
        let before = try Data(contentsOf: URL(fileURLWithPath: manifest))

        let again = try train(2, file, runDir)
        XCTAssertNotEqual(again.status, 0)
        let errors = again.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, again.output)
        XCTAssertTrue(errors.first?.contains("\(runDir)/checkpoints already holds checkpoints of an earlier run") ?? false, again.output)
        XCTAssertTrue(errors.first?.contains("--resume auto") ?? false, again.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: manifest)), before, "the earlier checkpoint is untouched")

        let resumed = try train(2, file, runDir, ["--resume", "auto", "--set", "training.steps=3"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: runDir + "/checkpoints/step-00000003/manifest.json"), resumed.output)
        // The resumed run adds to the run's metrics: steps 1–2 of the first run are still there.
        XCTAssertEqual(try records(runDir).map { $0["step"] as! Int }, [1, 2, 3])

        // Resuming a run that is already complete trains nothing and says so.
        let done = try train(2, file, runDir, ["--resume", "auto", "--set", "training.steps=3"])
        XCTAssertEqual(done.status, 0, done.output)
        XCTAssertTrue(done.output.contains("the run is already at step 3 of 3; nothing left to train"), done.output)
        XCTAssertEqual(try records(runDir).map { $0["step"] as! Int }, [1, 2, 3])
    }
}
