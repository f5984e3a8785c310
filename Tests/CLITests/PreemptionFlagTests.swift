import Checkpoint
import Foundation
import TestSupport
import XCTest

/// SIGTERM on one rank mid-run: every rank saves at the end of that step, the job exits with status
/// 75, and `--resume auto` finishes the run bit-identically to one that was never interrupted.
final class PreemptionFlagTests: XCTestCase {
    func testSIGTERMOnOneRankSavesExitsWith75AndResumeMatchesAnUninterruptedRun() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("preempt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var config = CheckpointFixtures.config(data: dir, steps: 12)
        config.training.zero1 = true
        let file = try CheckpointFixtures.write(config, in: dir)
        let straight = try CheckpointFixtures.train(2, file, runDir: dir + "/a")
        XCTAssertEqual(straight.status, 0, straight.output)

        // Rank 1 receives SIGTERM (sent by itself) at the start of step 7.
        let preempted = try CheckpointFixtures.train(2, file, runDir: dir + "/b", ["--inject-fault", "sigterm@1:7"])
        XCTAssertEqual(preempted.status, 75, preempted.output)
        XCTAssertTrue(preempted.output.contains("preempted by SIGTERM: checkpoint saved at step 7"), preempted.output)
        let store = CheckpointStore(root: dir + "/b/checkpoints")
        XCTAssertEqual(store.complete().map(\.step), [7], "the preemption checkpoint, and no end-of-run one")
        XCTAssertNoThrow(try CheckpointReader(path: store.root).verify())
        XCTAssertEqual(try CheckpointFixtures.losses(dir + "/b").keys.max(), 7, "no step after the signal's step")

        let resumed = try CheckpointFixtures.train(2, file, runDir: dir + "/b", ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        let a = try CheckpointFixtures.losses(dir + "/a"), b = try CheckpointFixtures.losses(dir + "/b")
        // The resumed run appends to run b's metrics: steps 1–7 before the signal, 8–12 after the resume.
        XCTAssertEqual(b.keys.sorted(), Array(1...12))
        for step in 1...12 { XCTAssertEqual(b[step], a[step], "loss at step \(step)") }
        let endA = try CheckpointFixtures.buffers(dir + "/a/checkpoints"), endB = try CheckpointFixtures.buffers(dir + "/b/checkpoints")
        XCTAssertEqual(endB.step, 12)
        XCTAssertEqual(CheckpointFixtures.bits(endB.params), CheckpointFixtures.bits(endA.params), "parameters bitwise")
        XCTAssertEqual(CheckpointFixtures.bits(endB.v), CheckpointFixtures.bits(endA.v), "AdamW v bitwise")
    }

    /// A first SIGTERM waits for the step boundary (here never reached: the rank hangs inside step 3);
    /// a SIGUSR1 0.3 s later is the same stop; a SIGTERM 1.3 s after the first ends the process at once
    /// with 128 + SIGTERM.
    func testASecondSignalExitsAtOnce() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("second")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        let file = try CheckpointFixtures.write(CheckpointFixtures.config(data: dir, steps: 10), in: dir)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ProcessRunner.pretrainBinary())
        process.arguments = ["train", "--config", file, "--set", "logging.run_dir=\(dir)/run", "--quiet", "--inject-fault", "hang@0:3"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let start = Date()
        while Date().timeIntervalSince(start) < 60, process.isRunning, (try? CheckpointFixtures.losses(dir + "/run"))?[2] == nil {
            usleep(20_000)
        }
        usleep(200_000)  // inside step 3 now, asleep
        XCTAssertTrue(process.isRunning)
        kill(process.processIdentifier, SIGTERM)
        usleep(300_000)
        // Within PreemptionFlag.repeatWindow (1 s) a signal is the same stop arriving another way
        // (mpirun's abort, launch's SIGUSR1): nothing happens.
        kill(process.processIdentifier, SIGUSR1)
        usleep(1_000_000)
        XCTAssertTrue(process.isRunning, "one signal waits for the step boundary; a repeat within 1 s is the same stop")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
        XCTAssertTrue(CheckpointStore(root: dir + "/run/checkpoints").complete().isEmpty, "nothing was saved")
    }
}
