import Config
import Distributed
import Foundation
import Model
import Training
import TestSupport
import XCTest

/// The data-parallel loop: N ranks equal 1 rank, accumulation sends nothing early, ZeRO-1, bad input.
final class TrainerTests: XCTestCase {
    /// Runs `config` on `ranks` in-process ranks; returns every step's loss, the final parameters
    /// (rank 0) and whether the token embedding was deferred (`Trainer.defersTokenEmbedding`).
    func train(_ config: RunConfig, ranks: Int, options: TrainerOptions = TrainerOptions(),
               wrap: ((InProcessCommunicator) -> any Communicator)? = nil) throws -> (losses: [Float], params: [Float], deferred: Bool) {
        let results = try InProcessGroup.run(size: ranks) { comm -> ([Float], [Float], Bool) in
            var losses: [Float] = []
            let trainer = try Trainer(config: config, comm: wrap?(comm) ?? comm, threads: 1, options: options) { event in
                if case let .step(m) = event { losses.append(m.loss) }
            }
            try trainer.run()
            return (losses, trainer.model.params.toArray(), trainer.defersTokenEmbedding)
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
        // The default schedule (which depends on this machine's cores), then overlapped. Vocabulary
        // 64, 32 tokens per rank: overlapping, 2 ranks defer the token embedding (64 rows ≤ 64), 4 do
        // not unless told to; every way must match.
        let cases: [(Int, Int, Bool?, Bool?)] = [(2, 2, nil, nil), (4, 1, nil, nil), (2, 2, true, nil), (4, 1, true, nil), (4, 1, true, true)]
        for (ranks, accumulation, overlap, deferring) in cases {
            var options = TrainerOptions()
            options.overlapCommunication = overlap
            options.deferTokenEmbedding = deferring
            let many = try train(TrainingFixtures.config(data: dir, processes: ranks, microBatch: 2, accumulation: accumulation), ranks: ranks,
                                 options: options)
            if overlap == true { XCTAssertEqual(many.deferred, deferring ?? (ranks == 2), "\(ranks) ranks: token embedding deferred") }
            for (i, (a, b)) in zip(many.losses, one.losses).enumerated() {
                XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * Double(abs(b)), "\(ranks) ranks, step \(i + 1) loss")
            }
            assertClose(many.params, one.params, 1e-5, "\(ranks) ranks (deferred \(many.deferred)): final parameters")
        }
    }

    func testDeferringTheTokenEmbeddingOnlyChangesRounding() throws {
        // Deferred, each rank's lookup rows are summed apart from the table's head gradient (rank
        // order, after it): the same numbers added in another order. Not deferred, the same run is
        // the after-backward one bit for bit (testSendingAfterBackwardEqualsOverlapping).
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 2, steps: 8)
        var whole = TrainerOptions(), deferred = TrainerOptions()
        whole.overlapCommunication = true
        whole.deferTokenEmbedding = false
        deferred.overlapCommunication = true
        deferred.deferTokenEmbedding = true
        let a = try train(config, ranks: 2, options: whole), b = try train(config, ranks: 2, options: deferred)
        XCTAssertFalse(a.deferred)
        XCTAssertTrue(b.deferred)
        for (i, (x, y)) in zip(b.losses, a.losses).enumerated() {
            XCTAssertEqual(Double(x), Double(y), accuracy: 1e-5 * Double(abs(y)), "step \(i + 1) loss")
        }
        assertClose(b.params, a.params, 1e-5, "final parameters")
        XCTAssertNotEqual(b.params, a.params, "the rows really took another path (different rounding)")
    }

    func testZeRO1MatchesPlainDataParallelism() throws {
        // 2 and 3 ranks (3 does not divide the chunks evenly); the small bucket size of the fixture
        // makes many chunks, so every rank owns many pieces.
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (ranks, accumulation) in [(2, 2), (3, 1)] {
            let plain = try train(TrainingFixtures.config(data: dir, processes: ranks, microBatch: 2, accumulation: accumulation), ranks: ranks)
            var zero = TrainingFixtures.config(data: dir, processes: ranks, microBatch: 2, accumulation: accumulation)
            zero.training.zero1 = true
            let sharded = try train(zero, ranks: ranks)
            for (i, (a, b)) in zip(sharded.losses, plain.losses).enumerated() {
                XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * Double(abs(b)), "ZeRO-1, \(ranks) ranks, step \(i + 1) loss")
            }
            assertClose(sharded.params, plain.params, 1e-5, "ZeRO-1, \(ranks) ranks: final parameters")
        }
    }

    func testZeRO1ShardsTheMoments() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 3, microBatch: 2, accumulation: 1, steps: 1)
        config.training.zero1 = true
        let owned = try InProcessGroup.run(size: 3) { comm -> [Range<Int>] in
            let trainer = try Trainer(config: config, comm: comm, threads: 1)
            XCTAssertGreaterThan(trainer.optimizers.count, 1, "one optimizer per owned piece")
            return trainer.optimizers.map(\.shard)
        }
        let count = GPTLayout(config: config.model).count
        let all = owned.flatMap { $0 }.sorted { $0.lowerBound < $1.lowerBound }
        XCTAssertEqual(all.first?.lowerBound, 0)
        XCTAssertEqual(all.last?.upperBound, count)
        for (a, b) in zip(all, all.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound, "pieces tile the buffer exactly once") }
        for (rank, pieces) in owned.enumerated() {
            let mine = pieces.reduce(0) { $0 + $1.count }
            XCTAssertEqual(Double(mine), Double(count) / 3, accuracy: Double(count) * 0.05, "rank \(rank) holds about a third of the moments")
        }
    }

    func testBF16CompressionStaysCloseToOneRankInFloat() throws {
        // bf16 compression only changes what ranks send; one rank sends nothing, so the reference is
        // one rank in Float with the same global batch (4 micro-batches). Each rank's summed gradient
        // is rounded to bfloat16 (relative error ≤ 2⁻⁹ ≈ 0.2 % per element) before it is averaged.
        // The loss barely notices; AdamW, which normalises each update to about one learning rate,
        // lets parameters whose gradient hovers around zero take a differently signed step now and
        // then. Stated bounds: every loss within 2e-4 relative of the Float run's, and every final
        // parameter within 5 learning rates (5 × 3e-3) of it. Measured here: losses within 3e-5,
        // parameters within about one learning rate. Without compression the same runs agree to 1e-5.
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let one = try train(TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 4), ranks: 1)
        var worstLoss = 0.0
        for (ranks, accumulation) in [(2, 2), (4, 1)] {
            var config = TrainingFixtures.config(data: dir, processes: ranks, microBatch: 2, accumulation: accumulation)
            config.training.gradCompression = .bf16
            let compressed = try train(config, ranks: ranks)
            XCTAssertEqual(compressed.losses.count, 20)
            for (i, (a, b)) in zip(compressed.losses, one.losses).enumerated() {
                worstLoss = max(worstLoss, Double(abs(a - b)) / Double(abs(b)))
                XCTAssertEqual(Double(a), Double(b), accuracy: 2e-4 * Double(abs(b)), "bf16, \(ranks) ranks, step \(i + 1) loss")
            }
            let drift = zip(compressed.params, one.params).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(drift, 5 * config.optimizer.lr, "bf16, \(ranks) ranks: largest parameter difference")
            print("bf16 vs 1 rank Float, \(ranks) ranks: largest parameter difference \(drift) (lr \(config.optimizer.lr))")
            XCTAssertNotEqual(compressed.params, one.params, "compression must actually round something")
        }
        print("bf16 vs 1 rank Float: worst relative loss difference \(worstLoss)")
    }

    func testZeRO1WithBF16MatchesPlainBF16() throws {
        // Two ranks: both the allreduce and the reduce-scatter add the same two bfloat16 values once,
        // so the sharded run sees the same gradients as the plain one. Only the gradient norm is
        // summed differently (per shard, then across ranks), which moves the clipping scale in its
        // last bits; AdamW amplifies that for parameters whose gradients hover around zero, hence
        // 1e-4 for the parameters (measured 4e-5) and 1e-5 for the losses.
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The plain run sends the token-embedding table whole, in bfloat16 like everything else
        // (deferred, its lookup rows would travel in Float).
        var plain = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 2)
        plain.training.gradCompression = .bf16
        var zero = plain
        zero.training.zero1 = true
        var whole = TrainerOptions()
        whole.deferTokenEmbedding = false
        let a = try train(plain, ranks: 2, options: whole), b = try train(zero, ranks: 2)
        for (i, (x, y)) in zip(b.losses, a.losses).enumerated() {
            XCTAssertEqual(Double(x), Double(y), accuracy: 1e-5 * Double(abs(y)), "ZeRO-1 bf16 step \(i + 1) loss")
        }
        assertClose(b.params, a.params, 1e-4, "ZeRO-1 bf16 final parameters")
    }

    func testSendingAfterBackwardEqualsOverlapping() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 2, steps: 8)
        var after = TrainerOptions()
        after.overlapCommunication = false
        var overlapped = TrainerOptions()
        overlapped.overlapCommunication = true
        overlapped.deferTokenEmbedding = false
        let a = try train(config, ranks: 2, options: after), b = try train(config, ranks: 2, options: overlapped)
        XCTAssertEqual(a.losses, b.losses, "the same buckets reduced the same way, only at another time")
        XCTAssertEqual(a.params, b.params)
    }

    func testAccumulationSendsNothingBeforeTheLastMicroStep() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 4, steps: 3)
        config.training.checksumInterval = 0
        // Overlapped with the token embedding sent whole, overlapped with it deferred, after backward.
        for (overlap, deferring) in [(true, false), (true, true), (false, false)] {
            var options = TrainerOptions()
            options.overlapCommunication = overlap
            options.deferTokenEmbedding = deferring
            let counts = try InProcessGroup.run(size: 2) { comm -> [Int] in
                let counted = InstrumentedCommunicator(wrapping: comm)
                let trainer = try Trainer(config: config, comm: counted, threads: 1, options: options)
                // Overlapped: one call per bucket, buckets cut at the end of the table when deferring;
                // after backward: one call over the whole buffer.
                let count = trainer.model.layout.count, table = config.model.vocabSize * config.model.dModel
                let bucket = Int(config.training.bucketMB * 1_048_576) / 4
                func pieces(_ n: Int) -> Int { (n + bucket - 1) / bucket }
                let buckets = !overlap ? 1 : deferring ? pieces(count - table) + pieces(table) : pieces(count)
                counted.resetStats()
                _ = try trainer.trainStep()
                let stats = counted.stats
                let rows = config.training.microBatch * config.training.seqLen
                // One allreduce per gradient bucket for the whole step (4 micro-batches) plus one for the loss.
                return [stats.calls(.allreduceAsync), stats.calls(.allreduce), buckets,
                        stats.bytes(.allreduceAsync) + stats.bytes(.allreduce), count * 4 + 4, stats.totalCalls,
                        stats.calls(.allgatherv), stats.bytes(.allgatherv), deferring ? rows * (config.model.dModel + 1) * 4 : 0,
                        trainer.defersTokenEmbedding ? 1 : 0]
            }
            let schedule = overlap ? "overlapped\(deferring ? ", token embedding deferred" : "")" : "after backward"
            for c in counts {
                XCTAssertEqual(c[9], deferring ? 1 : 0, schedule)
                if overlap {
                    XCTAssertGreaterThan(c[2], 1, "the test needs several buckets")
                    XCTAssertEqual(c[0], c[2], "\(schedule): one asynchronous allreduce per bucket per optimizer step, not per micro-batch")
                    XCTAssertEqual(c[1], 1, "\(schedule): one blocking allreduce: the loss")
                } else {
                    XCTAssertEqual(c[0], 0, "\(schedule): nothing asynchronous")
                    XCTAssertEqual(c[1], 2, "\(schedule): one blocking allreduce of the whole gradient, one of the loss")
                }
                XCTAssertEqual(c[3], c[4], "\(schedule): the gradient buffer is sent exactly once (plus the 4-byte loss)")
                XCTAssertEqual(c[6], deferring ? 2 : 0, "\(schedule): the lookup rows' tokens and values, once per step")
                XCTAssertEqual(c[7], c[8], "\(schedule): the last micro-batch's rows only")
                XCTAssertEqual(c[5], c[2] + 1 + c[6], "\(schedule): no other collective")
            }
        }
    }

    func testAStepWithoutExchangeSendsNothingAndTheNextOneSynchronisesAgain() throws {
        // The paired benchmark alternates such steps: a step with exchange false must send nothing
        // (each rank updates its own replica), and the next normal step must send the gradients again.
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 2, accumulation: 1, steps: 3)
        config.training.checksumInterval = 0
        let results = try InProcessGroup.run(size: 2) { comm -> ([Int], [Float]) in
            let counted = InstrumentedCommunicator(wrapping: comm)
            let trainer = try Trainer(config: config, comm: counted, threads: 1)
            counted.resetStats()
            _ = try trainer.trainStep(exchange: false)
            let alone = counted.stats.totalCalls
            let diverged = trainer.model.params.toArray()
            _ = try trainer.trainStep()
            return ([alone, counted.stats.calls(.allreduceAsync) + counted.stats.calls(.allreduce)], diverged)
        }
        for (counts, _) in results {
            XCTAssertEqual(counts[0], 0, "no collective in a step without exchange")
            XCTAssertGreaterThan(counts[1], 1, "the next step sends its gradient buckets and the loss")
        }
        XCTAssertNotEqual(results[0].1, results[1].1, "without exchange, each rank stepped on its own batch")
    }

    func testAutomaticScheduleSendsAfterBackwardOnlyWhenOneHostHasNoCoreToSpare() {
        // (ranks, ranks on this host, threads per rank, cores) → overlap?
        let cases: [(Int, Int, Int, Int, Bool)] = [
            (2, 2, 1, 2, false),   // this project's machine: every core computes
            (4, 4, 1, 2, false),   // oversubscribed
            (4, 4, 4, 16, false),  // a full node
            (2, 2, 1, 4, true),    // two cores free for the communication threads
            (8, 4, 4, 16, true),   // two hosts: the network moves bytes while the cores compute
        ]
        for (ranks, local, threads, cores, overlap) in cases {
            XCTAssertEqual(TrainerOptions.automaticOverlap(ranks: ranks, localRanks: local, threadsPerRank: threads, cores: cores), overlap,
                           "\(ranks) ranks, \(local) on this host × \(threads) threads, \(cores) cores")
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
        // The batch is checked before any collective, so rank 0 of 2 alone throws.
        XCTAssertThrowsError(try Trainer(config: config, comm: InProcessGroup(size: 2).communicator(rank: 0), threads: 1)) {
            XCTAssertTrue("\($0)".contains("training.global_batch 5 does not split evenly over 2 processes; use a multiple of 2 (e.g. 4 or 6)"), "\($0)")
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
