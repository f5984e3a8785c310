import Config
import DataPipeline
import Distributed
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// `pretrain eval` against the training loop's own loss on the same batch, and N ranks against 1.
final class EvalCommandTests: XCTestCase {
    /// The "val loss X" number of an eval run's output.
    func loss(_ run: ProcessRunner.Run) throws -> Double {
        let line = try XCTUnwrap(run.lines.first { $0.hasPrefix("val loss ") }, run.output)
        return try XCTUnwrap(Double(line.split(separator: " ")[2]), line)
    }

    func testEvalLossOnACheckpointEqualsTheTrainingLossOnTheSameBatch() throws {
        // Exactly one micro-batch of 4 sequences of 16 tokens (+1): every step trains on the same 4 sequences.
        let dir = try TrainingFixtures.corpus(count: 4 * 16 + 1)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 4, accumulation: 1, steps: 6)
        config.checkpoint.dir = dir + "/ckpt"
        var options = TrainerOptions()
        options.checkpoints = true
        let trainer = try InProcessGroup.run(size: 1) { comm in try Trainer(config: config, comm: comm, threads: 1, options: options) }[0]
        try trainer.run()  // 6 steps, then the checkpoint at the end
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/ckpt/step-00000006/manifest.json"))
        // Step 7 reports the loss of the weights after step 6 on that batch (before its own update).
        let expected = Double(try trainer.trainStep().loss)
        let run = try ProcessRunner.pretrain(["eval", "--checkpoint", dir + "/ckpt", "--data", dir + "/train_*.bin", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(try loss(run), expected, accuracy: 1e-5 * expected, run.output)
        XCTAssertTrue(run.output.contains("checkpoint step 6"), run.output)
        // The same weights trained further give a different loss: the eval really read the checkpoint.
        XCTAssertNotEqual(Double(try trainer.trainStep().loss), expected, accuracy: 1e-4)
    }

    func testTwoRanksEvaluateHalvesAndAgreeWithOneRank() throws {
        let dir = try TrainingFixtures.corpus(count: 16 * 17 + 1)  // 16 sequences of 16 (+1)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 4, accumulation: 1, steps: 3)
        config.checkpoint.dir = dir + "/ckpt"
        var options = TrainerOptions()
        options.checkpoints = true
        let trainer = try InProcessGroup.run(size: 1) { comm in try Trainer(config: config, comm: comm, threads: 1, options: options) }[0]
        try trainer.run()
        let model = try XCTUnwrap(trainer.model as? GPT, "model.arch gpt trains a GPT")
        model.training = false
        let one = try ProcessRunner.pretrain(["eval", "--checkpoint", dir + "/ckpt/step-00000003", "--data", dir + "/train_*.bin"])
        XCTAssertEqual(one.status, 0, one.output)
        XCTAssertTrue(one.output.contains("4 round(s) × 1 rank(s)"), one.output)
        let two = try ProcessRunner.mpirun(2, ["eval", "--checkpoint", dir + "/ckpt", "--data", dir + "/train_*.bin"])
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertTrue(two.output.contains("2 round(s) × 2 rank(s)"), two.output)
        XCTAssertEqual(two.lines.filter { $0.hasPrefix("val loss") }.count, 1, "rank 0 alone prints")
        XCTAssertEqual(try loss(two), try loss(one), accuracy: 1e-5 * (try loss(one)))
        // Independent value: the mean of the model's own forward losses over the same 4 batches.
        var sum = 0.0
        for b in 0..<4 {
            let loader = try DistributedDataLoader(location: dir + "/train_*.bin", split: "train", microBatch: 4, sequenceLength: 16)
            for _ in 0...b { try loader.next() }
            sum += Double(try model.forward(tokens: loader.inputs.baseAddress!, targets: loader.targets.baseAddress!, B: 4, T: 16))
        }
        XCTAssertEqual(try loss(one), sum / 4, accuracy: 1e-5 * sum / 4)
    }

    /// The evaluation during training reads the first training.eval_steps rounds of data.val and says
    /// so, naming the `pretrain eval` that repeats it: that command gives the same loss on the run's
    /// checkpoint, while plain `pretrain eval` reads every round (another loss) and says that.
    func testTrainingTimeEvalSaysWhatItReadsAndEvalRepeatsIt() throws {
        let dir = try TrainingFixtures.corpus(count: 40 * 17 + 1)  // 40 sequences of 16 (+1)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 2, microBatch: 4, accumulation: 1, steps: 3)
        (config.data.val, config.training.evalSteps, config.checkpoint.dir) = (dir + "/train_*.bin", 2, dir + "/ckpt")
        var options = TrainerOptions()
        options.checkpoints = true
        let evals = try InProcessGroup.run(size: 2) { comm -> [EvalMetrics] in
            var seen: [EvalMetrics] = []
            let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options) { if case let .eval(e) = $0 { seen.append(e) } }
            try trainer.run()
            return seen
        }[0]
        let last = try XCTUnwrap(evals.last)
        XCTAssertEqual(last.step, 3)
        XCTAssertEqual(last.scope, "first 2 × 8 sequences of data.val; `pretrain eval --batches 2 --micro-batch 8` repeats it")
        let again = try ProcessRunner.pretrain(["eval", "--checkpoint", dir + "/ckpt", "--batches", "2", "--micro-batch", "8", "--threads", "1"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(try loss(again), Double(last.loss), accuracy: 1e-5 * Double(last.loss), again.output)
        XCTAssertTrue(again.output.contains("in the first 2 round(s) × 1 rank(s) × 8 sequences of 16 of \(dir)/train_*.bin"), again.output)
        let all = try ProcessRunner.pretrain(["eval", "--checkpoint", dir + "/ckpt", "--micro-batch", "8", "--threads", "1"])
        XCTAssertEqual(all.status, 0, all.output)
        XCTAssertTrue(all.output.contains("in all 5 round(s) × 1 rank(s)"), all.output)
        XCTAssertNotEqual(try loss(all), Double(last.loss), accuracy: 1e-4, "five rounds are not the first two")
    }

    func testADirectoryThatIsNotACheckpointIsOneClearLine() throws {
        let dir = NSTemporaryDirectory() + "not-a-checkpoint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try ProcessRunner.pretrain(["eval", "--checkpoint", dir])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.lines.count, 1, run.output)
        XCTAssertTrue(run.output.contains("\(dir) is not a checkpoint"), run.output)
    }
}
