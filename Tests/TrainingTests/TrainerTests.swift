import Config
import Distributed
import Foundation
import Model
import Training
import XCTest

/// The data-parallel loop: N ranks equal 1 rank, accumulation sends nothing early, ZeRO-1, bad input.
final class TrainerTests: XCTestCase {
    /// Runs `config` on `ranks` in-process ranks; returns every step's loss and the final parameters (rank 0).
    func train(_ config: RunConfig, ranks: Int, wrap: ((InProcessCommunicator) -> any Communicator)? = nil) throws -> (losses: [Float], params: [Float]) {
        let results = try InProcessGroup.run(size: ranks) { comm -> ([Float], [Float]) in
            var losses: [Float] = []
            let trainer = try Trainer(config: config, comm: wrap?(comm) ?? comm, threads: 1) { event in
                if case let .step(m) = event { losses.append(m.loss) }
            }
            try trainer.run()
            return (losses, trainer.model.params.toArray())
        }
        for r in 1..<ranks { XCTAssertEqual(results[r].1, results[0].1, "rank \(r) holds the same parameters as rank 0, bitwise") }
        return results[0]
    }

    func assertClose(_ a: [Float], _ b: [Float], _ bound: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        var worst = 0.0, scale = 0.0
        for i in 0..<min(a.count, b.count) {
            worst = max(worst, Double(abs(a[i] - b[i])))
            scale = max(scale, Double(abs(b[i])))
        }
        XCTAssertLessThanOrEqual(worst / max(scale, 1e-30), bound, "\(what): relative error \(worst / scale)", file: file, line: line)
    }

    func testNRanksEqualOneRankWithTheSameGlobalBatch() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Global batch 8 sequences per step: 1 rank × 4 micro-batches, 2 × 2, 4 × 1.
        let one = try train(TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 4), ranks: 1)
        XCTAssertEqual(one.losses.count, 20)
        XCTAssertLessThan(one.losses.last!, one.losses.first! - 0.5, "the loss falls: \(one.losses.first!) → \(one.losses.last!)")
        for (ranks, accumulation) in [(2, 2), (4, 1)] {
            let many = try train(TrainingFixtures.config(data: dir, processes: ranks, microBatch: 2, accumulation: accumulation), ranks: ranks)
            for (i, (a, b)) in zip(many.losses, one.losses).enumerated() {
                XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * Double(abs(b)), "\(ranks) ranks, step \(i + 1) loss")
            }
            assertClose(many.params, one.params, 1e-5, "\(ranks) ranks: final parameters")
        }
    }

    func testZeRO1MatchesPlainDataParallelism() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let plain = try train(TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 2), ranks: 2)
        var zero = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 2)
        zero.training.zero1 = true
        let sharded = try train(zero, ranks: 2)
        for (i, (a, b)) in zip(sharded.losses, plain.losses).enumerated() {
            XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * Double(abs(b)), "ZeRO-1 step \(i + 1) loss")
        }
        assertClose(sharded.params, plain.params, 1e-5, "ZeRO-1 final parameters")
    }

    func testAccumulationSendsNothingBeforeTheLastMicroStep() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 4, steps: 3)
        config.training.checksumInterval = 0
        let counts = try InProcessGroup.run(size: 2) { comm -> [Int] in
            let counted = InstrumentedCommunicator(wrapping: comm)
            let trainer = try Trainer(config: config, comm: counted, threads: 1)
            let buckets = (trainer.model.layout.count * 4 + Int(config.training.bucketMB * 1_048_576) - 1) / Int(config.training.bucketMB * 1_048_576)
            counted.resetStats()
            _ = try trainer.trainStep()
            let stats = counted.stats
            // One allreduce per gradient bucket for the whole step (4 micro-batches) plus one for the loss.
            return [stats.calls(.allreduceAsync), stats.calls(.allreduce), buckets, stats.bytes(.allreduceAsync), trainer.model.layout.count * 4]
        }
        for c in counts {
            XCTAssertEqual(c[0], c[2], "one asynchronous allreduce per bucket per optimizer step, not per micro-batch")
            XCTAssertEqual(c[1], 1, "one synchronous allreduce: the loss")
            XCTAssertEqual(c[3], c[4], "the gradient buffer is sent exactly once")
        }
    }

    func testDifferentConfigsOnRanksAreNamed() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 1)
        XCTAssertThrowsError(try InProcessGroup.run(size: 2) { comm -> Int in
            var config = base
            if comm.rank == 1 { config.optimizer.lr = 1 }
            _ = try Trainer(config: config, comm: comm, threads: 1)
            return 0
        }) { error in
            XCTAssertTrue("\(error)".contains("ranks 1 were started with a config different from rank 0's"), "\(error)")
        }
    }

    func testIndivisibleGlobalBatchAndTooFewSequencesAreClearErrors() throws {
        let dir = try TrainingFixtures.corpus(count: 200)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 1)
        config.training.globalBatch = 5
        XCTAssertThrowsError(try Trainer(config: config, comm: InProcessGroup(size: 1).communicator(rank: 0), threads: 1)) {
            XCTAssertTrue("\($0)".contains("training.global_batch 5 is not divisible by training.micro_batch 2 × 1 processes"), "\($0)")
        }
        config.training.globalBatch = 0
        config.training.microBatch = 16  // 200 tokens hold 12 sequences of 16
        XCTAssertThrowsError(try Trainer(config: config, comm: InProcessGroup(size: 1).communicator(rank: 0), threads: 1)) {
            XCTAssertTrue("\($0)".contains("fewer than 1 ranks × micro_batch 16"), "\($0)")
        }
    }

    func testNonFiniteStepsAreSkippedThenStop() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 1, steps: 10)
        config.training.maxBadSteps = 3
        let trainer = try Trainer(config: config, comm: InProcessGroup(size: 1).communicator(rank: 0), threads: 1)
        trainer.model.params.pointer[0] = .nan  // poisons wte row 0 → every loss using token 0 is NaN
        let before = trainer.model.params.toArray()
        var skipped = 0
        XCTAssertThrowsError(try {
            for _ in 0..<10 { if try trainer.trainStep().skipped { skipped += 1 } }
        }()) { XCTAssertTrue("\($0)".contains("3 consecutive steps had a non-finite loss"), "\($0)") }
        XCTAssertEqual(skipped, 2, "two skipped steps, the third stops the run")
        let after = trainer.model.params.toArray()
        XCTAssertEqual(after.dropFirst().map { $0 }, before.dropFirst().map { $0 }, "skipped steps leave the parameters untouched")
    }
}
