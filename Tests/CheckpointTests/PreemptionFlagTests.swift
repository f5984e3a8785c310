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
        XCTAssertTrue(preempted.output.contains("preempted: checkpoint saved at step 7"), preempted.output)
        let store = CheckpointStore(root: dir + "/b/checkpoints")
        XCTAssertEqual(store.complete().map(\.step), [7], "the preemption checkpoint, and no end-of-run one")
        XCTAssertNoThrow(try CheckpointReader(path: store.root).verify())
        XCTAssertEqual(try CheckpointFixtures.losses(dir + "/b").keys.max(), 7, "no step after the signal's step")

        let resumed = try CheckpointFixtures.train(2, file, runDir: dir + "/b", ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        let a = try CheckpointFixtures.losses(dir + "/a"), b = try CheckpointFixtures.losses(dir + "/b")
        XCTAssertEqual(b.keys.sorted(), Array(8...12))
        for step in 8...12 { XCTAssertEqual(b[step], a[step], "loss at step \(step)") }
        let endA = try CheckpointFixtures.buffers(dir + "/a/checkpoints"), endB = try CheckpointFixtures.buffers(dir + "/b/checkpoints")
        XCTAssertEqual(endB.step, 12)
        XCTAssertEqual(CheckpointFixtures.bits(endB.params), CheckpointFixtures.bits(endA.params), "parameters bitwise")
        XCTAssertEqual(CheckpointFixtures.bits(endB.v), CheckpointFixtures.bits(endA.v), "AdamW v bitwise")
    }
}
