import DataPipeline
import Distributed
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// `CheckpointEvaluation.evaluate`: the token-weighted mean over rounds equals the mean of direct
/// forward passes over the same batches, read in order.
final class CheckpointEvaluationTests: XCTestCase {
    func testEvaluationEqualsTheMeanOfDirectForwardPasses() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("eval")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir, count: 2_000)
        let config = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        let (B, T, rounds) = (2, 16, 3)
        let model = try GPT(config: config, maxBatch: B, maxSeqLen: T)
        model.initializeWeights(seed: 7)
        model.training = false
        func loader() throws -> DistributedDataLoader {
            try DistributedDataLoader(location: dir + "/train_*.bin", split: "train", microBatch: B, sequenceLength: T)
        }

        var expected = 0.0
        let direct = try loader()
        for _ in 0..<rounds {
            try direct.next()
            expected += Double(try model.forward(tokens: direct.inputs.baseAddress!, targets: direct.targets.baseAddress!, B: B, T: T))
        }
        expected /= Double(rounds)

        let evaluated = try loader()
        let result = try InProcessGroup.run(size: 1) { comm in
            try CheckpointEvaluation.evaluate(model, loader: evaluated, rounds: rounds, ignoreIndex: config.ignoreIndex, comm: comm)
        }[0]
        XCTAssertEqual(result.tokens, Double(rounds * B * T), "every target counts (none is the ignore index)")
        XCTAssertEqual(result.loss, expected, accuracy: 1e-6 * expected)
    }
}
