import Checkpoint
import Config
import DataPipeline
import Distributed
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// A Trainer's checkpoints: every buffer of every rank round-trips; a resumed run under mpirun is
/// bit-identical to an uninterrupted one; checkpoints reshard from N to M ranks (ZeRO-1 on one side)
/// and the loss curve continues as the never-resharded run's; a full disk keeps the previous one.
final class CheckpointingTests: XCTestCase {
    /// What one rank holds after training or resuming.
    struct RankState: Equatable {
        var params: [UInt32]
        var moments: [[UInt32]]  // m and v of each optimizer, in order
        var shards: [Range<Int>]
        var optimizerStep: Int
        var step: Int
    }

    static func state(_ trainer: Trainer) -> RankState {
        RankState(params: CheckpointFixtures.bits(trainer.model.params.toArray()),
                  moments: trainer.optimizers.flatMap { [CheckpointFixtures.bits($0.m.toArray()), CheckpointFixtures.bits($0.v.toArray())] },
                  shards: trainer.optimizers.map(\.shard), optimizerStep: trainer.optimizers[0].t, step: trainer.step)
    }

    func testEveryBufferOfEveryRankRoundTripsWithAndWithoutCompression() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var options = TrainerOptions()
        options.checkpoints = true
        for (compression, zero1) in [("zstd", false), ("none", true), ("zstd", true)] {
            var config = CheckpointFixtures.config(data: dir, steps: 3)
            config.checkpoint.compression = compression
            config.checkpoint.dir = dir + "/\(compression)-\(zero1)"
            config.training.zero1 = zero1
            config.launch.numProcesses = 2
            let saved = try InProcessGroup.run(size: 2) { comm -> RankState in
                let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options)
                try trainer.run()
                return Self.state(trainer)
            }
            XCTAssertEqual(saved[0].step, 3)
            let loaded = try InProcessGroup.run(size: 2) { comm -> RankState in
                let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options)
                XCTAssertEqual(try trainer.resume(from: "auto"), 3)
                return Self.state(trainer)
            }
            for rank in 0..<2 { XCTAssertEqual(loaded[rank], saved[rank], "\(compression), ZeRO-1 \(zero1), rank \(rank)") }
            let manifest = try CheckpointReader(path: config.checkpoint.dir).manifest
            XCTAssertEqual(manifest.shards.map(\.file), ["rank-00000-of-00002", "rank-00001-of-00002"].map { $0 + (compression == "zstd" ? ".zst" : ".f32") })
            XCTAssertEqual(manifest.dataPositions.count, 2)
            XCTAssertEqual(manifest.dataPositions[0].sequencesRead, 3 * 8)
            XCTAssertEqual(manifest.tokensSeen, 3 * 8 * 16)
        }
    }

    /// ZeRO-1 moments saved by 2 ranks load into 3 ranks holding all moments: each equals the pieces
    /// the 2 ranks held, bitwise.
    func testZeroShardedMomentsReshardIntoFullMoments() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("reshard-inproc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var options = TrainerOptions()
        options.checkpoints = true
        var config = CheckpointFixtures.config(data: dir, steps: 2)
        config.training.globalBatch = 12
        config.checkpoint.dir = dir + "/ckpt"
        config.training.zero1 = true
        let saved = try InProcessGroup.run(size: 2) { comm -> RankState in
            let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options)
            try trainer.run()
            return Self.state(trainer)
        }
        config.training.zero1 = false
        let loaded = try InProcessGroup.run(size: 3) { comm -> RankState in
            let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options)
            try trainer.resume(from: config.checkpoint.dir)
            return Self.state(trainer)
        }
        let count = saved[0].params.count
        var m = [UInt32](repeating: 0xFFFF_FFFF, count: count), v = m
        for rank in saved {
            for (i, shard) in rank.shards.enumerated() {
                m.replaceSubrange(shard, with: rank.moments[2 * i])
                v.replaceSubrange(shard, with: rank.moments[2 * i + 1])
            }
        }
        XCTAssertFalse(m.contains(0xFFFF_FFFF), "the ZeRO pieces cover the buffer")
        for (r, rank) in loaded.enumerated() {
            XCTAssertEqual(rank.params, saved[0].params, "rank \(r) params")
            XCTAssertEqual(rank.moments, [m, v], "rank \(r) moments")
            XCTAssertEqual(rank.optimizerStep, 2)
        }
    }

    /// checkpoint.dir on a 500 KiB tmpfs holds the first checkpoint but not the second: the run stops
    /// with an error that says so, and the first still verifies.
    func testAFullDiskKeepsThePreviousCheckpointAndSaysSo() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("full")
        let mount = dir + "/small"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try ProcessRunner.execute("/bin/mount", ["-t", "tmpfs", "-o", "size=500k", "tmpfs", mount])
        XCTAssertEqual(mounted.status, 0, "mounting a tmpfs needs root (CI runs as root): \(mounted.output)")
        defer {
            _ = try? ProcessRunner.execute("/bin/umount", [mount])
            try? FileManager.default.removeItem(atPath: dir)
        }
        try CheckpointFixtures.corpus(in: dir)
        var config = CheckpointFixtures.config(data: dir, steps: 4)
        config.checkpoint.dir = mount + "/ckpt"
        config.checkpoint.every = 2
        config.checkpoint.compression = "none"  // 3 × 28,032 floats ≈ 336 KB per checkpoint: one fits, two do not
        var options = TrainerOptions()
        options.checkpoints = true
        let trainer = try Trainer(config: config, comm: InProcessGroup(size: 1).communicator(rank: 0), threads: 1, options: options)
        XCTAssertThrowsError(try trainer.run()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("checkpoint step 4 was not saved"), text)
            XCTAssertTrue(text.contains("No space left on device") && text.contains("disk is full"), text)
            XCTAssertTrue(text.contains("the previous checkpoint \(mount)/ckpt/step-00000002 is intact"), text)
        }
        let store = CheckpointStore(root: mount + "/ckpt")
        XCTAssertEqual(store.complete().map(\.step), [2])
        XCTAssertNoThrow(try CheckpointReader(path: mount + "/ckpt").verify())
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.stagingDirectory(step: 4)), "the failed save's staging directory is removed")
    }

    // MARK: - Under mpirun

    /// The masked-LM objective resumes bit for bit too: masks (keyed by the global stream index),
    /// NSP pairs and dropout (keyed by step, micro-batch and rank) all continue as they would have.
    func testMaskedLMResumeUnderMPIIsBitIdenticalToAnUninterruptedRun() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("resume-mlm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        let bytes = (0..<256).map { [UInt8($0)] as [UInt8]? }
        let added = AddedToken.defaultSpecials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        try Tokenizer(tokens: bytes, merges: [], addedTokens: added).save(to: dir + "/tokenizer.json")
        var config = CheckpointFixtures.config(data: dir, steps: 8, model: GPTConfig(vocabSize: 261, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32))
        config.family.arch = .bert
        config.family.nsp = true
        config.model.residualDropout = 0.1
        config.model.attentionDropout = 0.1
        config.data.tokenizer = dir + "/tokenizer.json"
        config.checkpoint.every = 4
        let file = try CheckpointFixtures.write(config, in: dir)
        let straight = try CheckpointFixtures.train(2, file, runDir: dir + "/a")
        XCTAssertEqual(straight.status, 0, straight.output)
        try FileManager.default.createDirectory(atPath: dir + "/b/checkpoints", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/a/checkpoints/step-00000004", toPath: dir + "/b/checkpoints/step-00000004")
        let resumed = try CheckpointFixtures.train(2, file, runDir: dir + "/b", ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)

        let a = try CheckpointFixtures.losses(dir + "/a"), b = try CheckpointFixtures.losses(dir + "/b")
        XCTAssertEqual(b.keys.sorted(), Array(5...8), "the resumed run continues at step 5")
        for step in 5...8 { XCTAssertEqual(b[step], a[step], "loss at step \(step)") }
        let endA = try CheckpointFixtures.buffers(dir + "/a/checkpoints"), endB = try CheckpointFixtures.buffers(dir + "/b/checkpoints")
        XCTAssertEqual(endB.step, 8)
        XCTAssertEqual(CheckpointFixtures.bits(endB.params), CheckpointFixtures.bits(endA.params), "parameters bitwise")
        XCTAssertEqual(CheckpointFixtures.bits(endB.m), CheckpointFixtures.bits(endA.m), "AdamW m bitwise")
        XCTAssertEqual(CheckpointFixtures.bits(endB.v), CheckpointFixtures.bits(endA.v), "AdamW v bitwise")
    }

    func testResumeUnderMPIIsBitIdenticalToAnUninterruptedRun() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var config = CheckpointFixtures.config(data: dir, steps: 20)
        config.checkpoint.every = 10
        config.checkpoint.dir = ""
        let file = try CheckpointFixtures.write(config, in: dir)
        let straight = try CheckpointFixtures.train(2, file, runDir: dir + "/a")
        XCTAssertEqual(straight.status, 0, straight.output)
        // The second run starts from the first run's step-10 checkpoint alone.
        try FileManager.default.createDirectory(atPath: dir + "/b/checkpoints", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: dir + "/a/checkpoints/step-00000010", toPath: dir + "/b/checkpoints/step-00000010")
        let resumed = try CheckpointFixtures.train(2, file, runDir: dir + "/b", ["--resume", "auto"])
        XCTAssertEqual(resumed.status, 0, resumed.output)

        let a = try CheckpointFixtures.losses(dir + "/a"), b = try CheckpointFixtures.losses(dir + "/b")
        XCTAssertEqual(a.keys.sorted(), Array(1...20))
        XCTAssertEqual(b.keys.sorted(), Array(11...20), "the resumed run continues at step 11")
        for step in 11...20 { XCTAssertEqual(b[step], a[step], "loss at step \(step)") }
        let endA = try CheckpointFixtures.buffers(dir + "/a/checkpoints"), endB = try CheckpointFixtures.buffers(dir + "/b/checkpoints")
        XCTAssertEqual(endA.step, 20)
        XCTAssertEqual(endB.step, 20)
        XCTAssertEqual(CheckpointFixtures.bits(endB.params), CheckpointFixtures.bits(endA.params), "parameters bitwise")
        XCTAssertEqual(CheckpointFixtures.bits(endB.m), CheckpointFixtures.bits(endA.m), "AdamW m bitwise")
        XCTAssertEqual(CheckpointFixtures.bits(endB.v), CheckpointFixtures.bits(endA.v), "AdamW v bitwise")
        let ma = try CheckpointReader(path: dir + "/a/checkpoints").manifest, mb = try CheckpointReader(path: dir + "/b/checkpoints").manifest
        XCTAssertEqual(mb.dataPositions, ma.dataPositions, "the same tokens were read")
        XCTAssertEqual(mb.tokensSeen, ma.tokensSeen)
        XCTAssertEqual(mb.optimizerStep, 20)
    }

    func testReshardedRunsContinueTheLossCurveOfARunThatNeverResharded() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("reshard")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var config = CheckpointFixtures.config(data: dir, steps: 20)
        config.training.globalBatch = 24  // 12, 6, 4 or 3 micro-batches of 2 on 1, 2, 3 or 4 ranks
        config.checkpoint.every = 10
        let plain = try CheckpointFixtures.write(config, in: dir)
        config.training.zero1 = true
        let zero = try CheckpointFixtures.write(config, in: dir)
        let reference = try CheckpointFixtures.train(1, plain, runDir: dir + "/ref")
        XCTAssertEqual(reference.status, 0, reference.output)
        let ref = try CheckpointFixtures.losses(dir + "/ref")
        XCTAssertEqual(ref.count, 20)
        for (n, m, saveFile, loadFile) in [(4, 2, zero, plain), (2, 3, plain, zero), (1, 4, plain, zero)] {
            let first = dir + "/\(n)to\(m)-first", second = dir + "/\(n)to\(m)-second"
            let run = try CheckpointFixtures.train(n, saveFile, runDir: first)
            XCTAssertEqual(run.status, 0, run.output)
            try FileManager.default.createDirectory(atPath: second + "/checkpoints", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: first + "/checkpoints/step-00000010", toPath: second + "/checkpoints/step-00000010")
            let resumed = try CheckpointFixtures.train(m, loadFile, runDir: second, ["--resume", "auto"])
            XCTAssertEqual(resumed.status, 0, resumed.output)
            let losses = try CheckpointFixtures.losses(second)
            XCTAssertEqual(losses.keys.sorted(), Array(11...20), "\(n)→\(m)")
            for step in 11...20 {
                let (x, y) = (losses[step]!, ref[step]!)
                XCTAssertEqual(x, y, accuracy: 1e-5 * abs(y), "\(n)→\(m) ranks, step \(step)")
            }
        }
    }
}
