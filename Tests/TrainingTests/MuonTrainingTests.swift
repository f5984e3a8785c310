import Config
import Distributed
import Foundation
import Kernels
import Model
import Training
import TestSupport
import XCTest

/// `optimizer.kind: muon` in the Trainer: ranks agree with one rank bit for bit, resume is exact, the
/// bf16 weight copy follows Muon's updates, and ZeRO-1 is refused.
final class MuonTrainingTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TrainingFixtures.corpus() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func config(steps: Int = 10, ranks: Int = 1, microBatch: Int = 2, accumulation: Int = 1, precision: String = "no") -> RunConfig {
        var c = TrainingFixtures.config(data: dir, processes: ranks, microBatch: microBatch, accumulation: accumulation, steps: steps)
        c.optimizer.kind = .muon
        c.optimizer.lr = 3e-3
        c.launch.mixedPrecision = precision
        c.logging.runDir = dir + "/run-\(UUID().uuidString)"
        return c
    }

    /// Every step's loss and each rank's final parameters.
    func train(_ config: RunConfig, ranks: Int = 1, resume: String? = nil) throws -> (losses: [Float], params: [[Float]]) {
        let results = try InProcessGroup.run(size: ranks) { comm -> ([Float], [Float]) in
            var losses: [Float] = []
            var options = TrainerOptions()
            options.checkpoints = config.checkpoint.every > 0
            options.deferTokenEmbedding = false
            let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options) { event in
                if case let .step(m) = event { losses.append(m.loss) }
            }
            if let resume { try trainer.resume(from: resume) }
            try trainer.run()
            return (losses, trainer.model.params.toArray())
        }
        return (results[0].0, results.map(\.1))
    }

    /// 2 and 4 ranks × 1 micro-batch = 1 rank × 2 and 4 micro-batches, bit for bit, in fp32 and bf16;
    /// every rank holds the same parameters; and the run differs from AdamW's (Muon really ran).
    func testNRanksMatchOneRankBitwise() throws {
        for precision in ["no", "bf16"] {
            for ranks in [2, 4] {
                let one = try train(config(ranks: 1, accumulation: ranks, precision: precision))
                let many = try train(config(ranks: ranks, precision: precision), ranks: ranks)
                XCTAssertEqual(many.losses.map(\.bitPattern), one.losses.map(\.bitPattern), "\(precision), \(ranks) ranks: losses")
                for r in 0..<ranks {
                    XCTAssertEqual(many.params[r].map(\.bitPattern), one.params[0].map(\.bitPattern), "\(precision), rank \(r) of \(ranks)")
                }
                XCTAssertLessThan(one.losses.last!, one.losses.first!, "\(precision): Muon learns")
            }
        }
        var adamw = config(ranks: 1, accumulation: 2)
        adamw.optimizer.kind = .adamw
        XCTAssertNotEqual(try train(adamw).params[0], try train(config(ranks: 1, accumulation: 2)).params[0])
    }

    /// The ranks share the Newton–Schulz work: every matrix is stepped by exactly one rank, every rank
    /// steps some, and one rank alone steps them all (the bitwise test above covers the result).
    func testRanksShareTheMatrices() throws {
        for ranks in [1, 2, 4] {
            let c = config(ranks: ranks)
            let shares = try InProcessGroup.run(size: ranks) { comm -> [Bool]? in
                try Trainer(config: c, comm: comm, threads: 1).muonShare?.owned
            }
            if ranks == 1 { XCTAssertNil(shares[0]); continue }
            let owned = shares.map { $0 ?? [] }
            XCTAssertEqual(owned[0].count, 2 * 4, "2 blocks × 4 matrices")
            for index in owned[0].indices {
                XCTAssertEqual(owned.filter { $0[index] }.count, 1, "\(ranks) ranks: matrix \(index) has one owner")
            }
            for (r, mine) in owned.enumerated() { XCTAssertTrue(mine.contains(true), "\(ranks) ranks: rank \(r) steps some") }
        }
    }

    /// Stopping at step 10 and resuming gives the uninterrupted run's parameters bit for bit: the
    /// momentum travels in the checkpoint's first moments.
    func testResumeIsBitExact() throws {
        var c = config(steps: 20)
        c.checkpoint.every = 10
        c.checkpoint.keepLast = 5
        let straight = try train(c)
        let resumed = try train(c, resume: Trainer.checkpointRoot(c) + "/step-00000010")
        XCTAssertEqual(resumed.losses, Array(straight.losses.suffix(10)))
        XCTAssertEqual(resumed.params[0].map(\.bitPattern), straight.params[0].map(\.bitPattern))
    }

    /// With bf16, the weight copy of every Muon matrix is the rounded current fp32 weight after training.
    func testBF16WeightCopyFollowsMuonsUpdates() throws {
        let c = config(steps: 3, precision: "bf16")
        let stale = try InProcessGroup.run(size: 1) { comm -> (stale: Int, checked: Int) in
            let trainer = try Trainer(config: c, comm: comm, threads: 1)
            try trainer.run()
            let model = trainer.model, bf16 = try XCTUnwrap(model.bf16), params = model.params.pointer
            var stale = 0, checked = 0
            for t in model.layout.tensors where t.isHiddenMatrix {
                for i in t.range {
                    let operand = bf16.weight(params + i, count: 1, slot: 3), want = BF16Rounding.round(params[i])
                    let got = bf16.elementSize == 2 ? Float(bitPattern: UInt32(operand.load(as: UInt16.self)) << 16) : operand.load(as: Float.self)
                    if got.bitPattern != want.bitPattern { stale += 1 }
                    checked += 1
                }
            }
            return (stale, checked)
        }[0]
        XCTAssertGreaterThan(stale.checked, 1000)
        XCTAssertEqual(stale.stale, 0)
    }

    /// ZeRO-1 splits matrices between ranks: refused in one line naming both keys, exit status 2.
    func testZeRO1IsRefused() throws {
        var c = config(ranks: 2)
        c.training.zero1 = true
        XCTAssertThrowsError(try train(c, ranks: 2)) { error in
            let e = error as? TrainingError
            XCTAssertEqual(e?.exitCode, 2, "\(error)")
            let text = "\(error)"
            XCTAssertTrue(text.contains("optimizer.kind: muon") && text.contains("training.zero1: false"), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }
}
