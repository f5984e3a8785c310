import DataPipeline
import Foundation
import Kernels
import Model
import TestSupport
import Training
import XCTest
import Support

/// `pretrain bench transfer --checkpoint`: the accuracy it prints for the pretrained body equals a
/// fine-tuning of the same checkpoint run in-test with the same seed, steps and batches; the mean over
/// seeds is the mean of the printed seeds; bad flags and checkpoints are one line each.
final class BenchTransferCommandTests: XCTestCase {
    /// (name, seed, accuracy %) of each "NAME seed S: test accuracy X %" line.
    func accuracies(_ output: String) -> [(String, UInt64, Double)] {
        output.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count >= 6, words[1] == "seed", words[3] == "test", let seed = UInt64(words[2].dropLast()),
                  let accuracy = Double(words[5]) else { return nil }
            return (String(words[0]), seed, accuracy)
        }
    }

    func testPrintedAccuracyEqualsAnInTestFineTuningOfTheCheckpoint() throws {
        let dir = try GPTCheckpointFixtures.pretrained.get()
        let task = dir + "/transfer-task"
        try FileManager.default.createDirectory(atPath: task, withIntermediateDirectories: true)
        let trainPath = try BERTCheckpointFixtures.task(task, name: "train.jsonl", count: 48, seed: 1)
        let testPath = try BERTCheckpointFixtures.task(task, name: "test.jsonl", count: 30, seed: 2)
        let run = try ProcessRunner.pretrain(["bench", "transfer", "--checkpoint", dir + "/ckpt", "--task", task, "--finetune-steps", "12",
                                              "--micro-batch", "8", "--lr", "3e-3", "--seeds", "2", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let printed = accuracies(run.output)
        XCTAssertEqual(printed.count, 4, "pretrained and scratch for each of 2 seeds: \(run.output)")

        // The same fine-tuning in-test: the checkpoint's body, its config's seed, T and optimizer.
        Parallel.setThreads(1)
        let loaded = try GPTCheckpointFixtures.load(dir + "/ckpt", seqLen: 16)
        let train = try ClassificationDataset.load(path: trainPath)
        let test = try ClassificationDataset.load(path: testPath, labelNames: train.labelNames)
        var config = loaded.config.gptConfig
        config.numLabels = train.labelNames.count
        var settings = loaded.config.optimizer
        settings.lr = 3e-3
        let seed = UInt64(loaded.config.training.seed)
        let tuner = try FineTuner<GPT>(config: config, tokenizer: HuggingFaceTokenizer(byteLevel: loaded.tokenizer), microBatch: 8, sequenceLength: loaded.config.training.seqLen,
                                       settings: settings, seed: seed)
        tuner.loadBody(from: loaded.model)
        _ = try tuner.train(train, steps: 12, lr: 3e-3)
        let expected = try tuner.accuracy(test) * 100
        let first = try XCTUnwrap(printed.first { $0.0 == "pretrained" && $0.1 == seed }, run.output)
        XCTAssertEqual(first.2, expected, accuracy: 0.051, run.output)

        // The mean line is the mean of the printed per-seed accuracies.
        for name in ["pretrained", "scratch"] {
            let values = printed.filter { $0.0 == name }.map(\.2)
            let line = try XCTUnwrap(run.lines.first { $0.hasPrefix(name) && $0.contains("mean test accuracy") }, run.output)
            let mean = try XCTUnwrap(Double(line.split(separator: " ")[4]), line)
            XCTAssertEqual(mean, values.reduce(0, +) / Double(values.count), accuracy: 0.051, line)
        }
    }

    func testBadFlagsAndCheckpointsAreOneLineEach() throws {
        let dir = try GPTCheckpointFixtures.pretrained.get()
        let work = dir + "/transfer-bad"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let train = try BERTCheckpointFixtures.task(work, name: "train.jsonl", count: 16, seed: 1)
        let tuned = try ProcessRunner.pretrain(["finetune", "--checkpoint", dir + "/ckpt", "--data", train, "--labels", "3", "--steps", "1",
                                                "--out", work + "/ft", "--threads", "1"])
        XCTAssertEqual(tuned.status, 0, tuned.output)
        for (arguments, expected) in [
            (["--seeds", "0"], "--seeds must be at least 1"),
            (["--checkpoint", "/nonexistent/ckpt"], "/nonexistent/ckpt"),
            (["--checkpoint", work + "/ft"], "is already a classifier (model.num_labels 3); give a pretrained language-model checkpoint"),
        ] {
            let run = try ProcessRunner.pretrain(["bench", "transfer", "--task", work] + arguments)
            XCTAssertNotEqual(run.status, 0, run.output)
            XCTAssertEqual(run.lines.count, 1, "one line: \(run.output)")
            XCTAssertTrue(run.output.contains(expected), run.output)
        }
    }
}
