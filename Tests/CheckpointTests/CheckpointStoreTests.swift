import Checkpoint
import Foundation
import Model
import TestSupport
import XCTest

/// Atomic commit and retention, and crash safety: jobs killed with SIGKILL at random moments while
/// saving every step never leave a checkpoint that looks complete but is not.
final class CheckpointStoreTests: XCTestCase {
    func save(_ root: String, step: Int, keepLast: Int) throws {
        let layout = GPTLayout(config: GPTConfig(vocabSize: 8, maxSeqLen: 4, nLayer: 1, nHead: 1, dModel: 4))
        let p = try FlatBuffer(count: layout.count)
        p.pointer[0] = Float(step)
        var options = LocalCheckpoint.Options()
        options.keepLast = keepLast
        try LocalCheckpoint.save(root: root, step: step, layout: layout, params: p, m: p, v: p, options: options)
    }

    func testCommitRenamesWritesLatestAndKeepsTheNewestK() throws {
        let root = try CheckpointFixtures.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = CheckpointStore(root: root)
        // Leftovers of an interrupted save: a staging directory, even one holding a manifest.
        try FileManager.default.createDirectory(atPath: root + "/step-00000007.tmp", withIntermediateDirectories: true)
        try "{}".write(toFile: root + "/step-00000007.tmp/manifest.json", atomically: true, encoding: .utf8)
        XCTAssertTrue(store.complete().isEmpty, "a staging directory is never complete")
        for step in [1, 2, 3, 4] { try save(root, step: step, keepLast: 2) }
        XCTAssertEqual(store.complete().map(\.step), [3, 4])
        XCTAssertEqual(try String(contentsOfFile: root + "/latest", encoding: .utf8), "step-00000004\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/step-00000007.tmp"), "the commit removed the stale staging directory")
        try save(root, step: 2, keepLast: 1)  // an older step saved again (a run resumed from further back)
        XCTAssertEqual(store.complete().map(\.step), [2, 4], "keep_last never removes the newest checkpoint, nor the one just saved")
        try save(root, step: 4, keepLast: 1)  // the same step again replaces it
        XCTAssertEqual(store.complete().map(\.step), [4])
        XCTAssertEqual(try CheckpointFixtures.buffers(root).params[0], 4)
        XCTAssertEqual(CheckpointStore.step(ofName: "step-00000012"), 12)
        XCTAssertNil(CheckpointStore.step(ofName: "step-00000012.tmp"))
    }

    // MARK: - Crash safety

    /// The pids of `pid`'s children.
    func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }
    }

    func testKillingRanksOrTheLauncherDuringSavesNeverLeavesAPartialCheckpoint() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var config = CheckpointFixtures.config(data: dir, steps: 1_000_000,
                                               model: GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 64))
        config.checkpoint.every = 1
        config.checkpoint.keepLast = 2
        config.training.zero1 = true
        let file = try CheckpointFixtures.write(config, in: dir)
        let root = dir + "/run/checkpoints"
        let pretrain = try ProcessRunner.pretrainBinary()
        var rng = SystemRandomNumberGenerator()
        let start = Date()
        var kills = 0, resumedSteps: [Int] = []
        while Date().timeIntervalSince(start) < 35 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["mpirun", "-n", "2"] + ProcessRunner.mpirunFlags + [pretrain, "train", "--config", file, "--set", "num_processes=2",
                                                                                    "--set", "logging.run_dir=\(dir)/run", "--quiet", "--resume", "auto"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let before = CheckpointStore(root: root).complete().last?.step ?? 0
            // Wait for the run to pass its previous newest checkpoint, then a random moment more.
            let waitStart = Date()
            while Date().timeIntervalSince(waitStart) < 15, (CheckpointStore(root: root).complete().last?.step ?? 0) <= before, process.isRunning {
                usleep(20_000)
            }
            usleep(UInt32.random(in: 0...400_000, using: &rng))
            let ranks = children(of: process.processIdentifier)
            let targets = Bool.random(using: &rng) || ranks.isEmpty ? [process.processIdentifier] : [ranks.randomElement(using: &rng)!]
            for pid in targets { kill(pid, SIGKILL) }
            usleep(UInt32.random(in: 0...50_000, using: &rng))
            for pid in ranks + [process.processIdentifier] { kill(pid, SIGKILL) }  // whatever survived: the node is gone
            process.waitUntilExit()
            kills += 1
            // Every directory that looks complete verifies; the newest exists once one save finished.
            let complete = CheckpointStore(root: root).complete()
            for checkpoint in complete {
                XCTAssertNoThrow(try CheckpointReader(path: checkpoint.path).verify(), "after kill \(kills): \(checkpoint.path)")
            }
            if let newest = complete.last { resumedSteps.append(newest.step) }
        }
        print("crash loop: \(kills) kills; newest complete checkpoint after each: \(resumedSteps)")
        XCTAssertGreaterThanOrEqual(kills, 5, "the loop killed jobs repeatedly")
        XCTAssertGreaterThan(resumedSteps.last ?? 0, resumedSteps.first ?? 0, "runs resumed and made progress between kills: \(resumedSteps)")
        // Finally --resume auto finds the newest complete checkpoint and continues from it.
        let newest = try XCTUnwrap(CheckpointStore(root: root).complete().last)
        let finish = try ProcessRunner.mpirun(2, ["train", "--config", file, "--set", "num_processes=2", "--set", "logging.run_dir=\(dir)/run",
                                                  "--set", "training.steps=\(newest.step + 2)", "--resume", "auto"])
        XCTAssertEqual(finish.status, 0, finish.output)
        XCTAssertTrue(finish.output.contains("resumed from \(newest.path) at step \(newest.step)"), finish.output)
    }
}
