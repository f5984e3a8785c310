import Config
import XCTest

/// `BatchPlan`: on 1–8 ranks, the proposed split keeps the global batch exactly and is the largest
/// micro-batch a brute-force search over every (micro-batch, accumulation) pair finds.
final class BatchPlanTests: XCTestCase {
    func testProposalKeepsTheGlobalBatchOnOneToEightRanks() {
        for ranks in 1...8 {
            for global in 1...64 {
                for micro in 1...16 {
                    // Independently: search every (m ≤ micro, a) with m × a × ranks = global; keep the largest m.
                    let pairs = (1...micro).compactMap { m in (1...global).first { a in m * a * ranks == global }.map { (m, $0) } }
                    let best = pairs.last
                    let proposal = BatchPlan.proposal(globalBatch: global, microBatch: micro, worldSize: ranks)
                    XCTAssertEqual(proposal?.microBatch, best?.0, "global \(global), micro \(micro), \(ranks) ranks")
                    XCTAssertEqual(proposal?.accumulation, best?.1, "global \(global), micro \(micro), \(ranks) ranks")
                    XCTAssertEqual(proposal == nil, global % ranks != 0, "global \(global), \(ranks) ranks")
                }
            }
        }
    }

    func testTinyConfigOnFourRanksLowersTheMicroBatchWithANotice() throws {
        var config = RunConfig()
        config.training.globalBatch = 32
        config.training.microBatch = 16
        let two = try BatchPlan.resolve(config, worldSize: 2)
        XCTAssertEqual(two, BatchPlan(microBatch: 16, accumulation: 1), "as configured: no notice")
        let four = try BatchPlan.resolve(config, worldSize: 4)
        XCTAssertEqual([four.microBatch, four.accumulation], [8, 1])
        XCTAssertEqual(four.notice, "training.micro_batch 16 → 8 with 1 accumulation step(s), so that training.global_batch 32 splits "
                       + "over 4 processes (8 × 1 × 4); set training.micro_batch to choose")
        let one = try config.resolvingBatch(worldSize: 1).config
        XCTAssertEqual([one.training.microBatch, one.training.gradientAccumulationSteps], [16, 2])
        XCTAssertThrowsError(try BatchPlan.resolve(config, worldSize: 3, origin: "run.yaml")) {
            XCTAssertEqual(($0 as? ConfigError)?.message,
                           "run.yaml: training.global_batch 32 does not split evenly over 3 processes; use a multiple of 3 (e.g. 30 or 33)")
        }
        config.training.globalBatch = 0
        config.training.gradientAccumulationSteps = 3
        XCTAssertEqual(try BatchPlan.resolve(config, worldSize: 5), BatchPlan(microBatch: 16, accumulation: 3), "no global batch: as configured")
    }

    /// An accumulation other than 1 given beside a global batch it does not make is replaced, with a
    /// notice naming both keys and the global batch that keeps it; one that makes it is used quietly.
    func testAnAccumulationThatDoesNotMakeTheGlobalBatchIsReplacedWithANotice() throws {
        var config = RunConfig()
        (config.training.globalBatch, config.training.microBatch, config.training.gradientAccumulationSteps) = (32, 16, 4)
        let two = try BatchPlan.resolve(config, worldSize: 2)
        XCTAssertEqual([two.microBatch, two.accumulation], [16, 1])
        XCTAssertEqual(two.notice, "training.gradient_accumulation_steps 4 → 1, so that training.global_batch 32 = 16 × 1 × 2 processes; "
                       + "set training.global_batch to 128 (or 0) to accumulate 4")
        config.training.gradientAccumulationSteps = 2
        XCTAssertEqual(try BatchPlan.resolve(config, worldSize: 1), BatchPlan(microBatch: 16, accumulation: 2), "16 × 2 × 1 = 32: no notice")
        config.training.globalBatch = 128
        config.training.gradientAccumulationSteps = 4
        XCTAssertEqual(try BatchPlan.resolve(config, worldSize: 2), BatchPlan(microBatch: 16, accumulation: 4), "the suggested global batch keeps 4")
    }
}
