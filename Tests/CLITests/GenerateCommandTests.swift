import Config
import DataPipeline
import Foundation
import Kernels
import Model
import Distributed
import TestSupport
import Training
import XCTest

/// `pretrain generate` against greedy decoding computed here without the cache, and its bad input.
final class GenerateCommandTests: XCTestCase {
    var dir = ""
    var root = ""
    var tokenizer: Tokenizer!
    var model: GPT!

    /// A byte-level BPE tokenizer trained by `pretrain data prepare` on a small text, and a checkpoint of a
    /// random model whose LM head can only prefer ASCII tokens (so the expected text compares exactly).
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "generate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var text = ""
        for i in 0..<400 { text += "the quick brown fox \(i % 17) jumps over the lazy dog; a stitch in time saves nine.\n\n" }
        try text.write(toFile: dir + "/corpus.txt", atomically: true, encoding: .utf8)
        let prepare = try ProcessRunner.pretrain(["data", "prepare", "--input", dir + "/corpus.txt", "--vocab-size", "300",
                                                  "--document-separator", "", "--out", dir + "/data", "--threads", "1"])
        XCTAssertEqual(prepare.status, 0, prepare.output)
        tokenizer = try Tokenizer.load(from: dir + "/data/tokenizer.json")
        // One training step at learning rate 0 (the weights set below stay exactly as set), then the
        // checkpoint at the end of the run, which carries the tokenizer.
        var config = TrainingFixtures.config(data: dir + "/data", processes: 1, microBatch: 1, accumulation: 1, steps: 1,
                                             model: GPTConfig(vocabSize: 304, maxSeqLen: 48, nLayer: 2, nHead: 2, dModel: 32))
        config.data.train = dir + "/data/train_*.bin"
        config.data.tokenizer = dir + "/data/tokenizer.json"
        config.optimizer.lr = 0
        config.optimizer.weightDecay = 0
        config.checkpoint.dir = dir + "/checkpoints"
        var options = TrainerOptions()
        options.checkpoints = true
        let trainer = try InProcessGroup.run(size: 1) { comm in try Trainer(config: config, comm: comm, threads: 1, options: options) }[0]
        model = try XCTUnwrap(trainer.model as? GPT, "model.arch gpt trains a GPT")
        let C = config.model.dModel
        let special = Set(tokenizer.addedTokens.map(\.id))
        for v in 0..<config.model.vocabSize {
            let bytes = v < tokenizer.vocabularySize ? tokenizer.bytes(of: Int32(v)) : []
            if bytes.isEmpty || special.contains(Int32(v)) || bytes.contains(where: { $0 >= 0x80 }) {
                (model.params.pointer + model.layout.wte + v * C).update(repeating: -0.5, count: C)
            }
        }
        (model.params.pointer + model.layout.lnfWeight).update(repeating: 0.1, count: C)
        (model.params.pointer + model.layout.lnfBias).update(repeating: 1, count: C)
        let before = model.params.toArray()
        try trainer.run()
        XCTAssertEqual(model.params.toArray(), before, "learning rate 0 leaves the weights as set")
        root = dir + "/checkpoints"
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/step-00000001/tokenizer.json"), "the checkpoint carries the tokenizer")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Greedy continuation without a cache: the whole sequence through the training forward per token.
    func greedy(_ prompt: String, count: Int) throws -> String {
        var ids = tokenizer.encode(prompt)
        var bytes: [UInt8] = []
        let V = model.config.vocabSize
        model.training = false
        for _ in 0..<count {
            let n = ids.count
            _ = try ids.withUnsafeBufferPointer { try model.forward(tokens: $0.baseAddress!, targets: nil, B: 1, T: n) }
            var best = 0
            for v in 0..<V where model.logits[(n - 1) * V + v] > model.logits[(n - 1) * V + best] { best = v }
            ids.append(Int32(best))
            bytes += tokenizer.bytes(of: Int32(best))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testGreedyOutputEqualsDecodingWithoutTheCacheAndIsDeterministic() throws {
        // Bytes the tokenizer never saw (an emoji, accents, a control byte) still encode, byte by byte.
        let prompt = "the lazy 🦊 naïve\u{7} fox"
        XCTAssertEqual(tokenizer.decode(tokenizer.encode(prompt)), Array(prompt.utf8), "byte-level BPE round-trips unseen bytes")
        let expected = try greedy(prompt, count: 20)
        XCTAssertEqual(expected.utf8.count, expected.unicodeScalars.count, "the fixture only prefers ASCII")
        for flags in [["--temperature", "0"], ["--top-k", "1", "--temperature", "1.5"]] {
            let run = try ProcessRunner.pretrain(["generate", "--checkpoint", root, "--prompt", prompt, "--max-new-tokens", "20",
                                                  "--quiet", "--threads", "1"] + flags)
            XCTAssertEqual(run.status, 0, run.output)
            XCTAssertEqual(run.output, expected + "\n", "flags \(flags)")
        }
        let loud = try ProcessRunner.pretrain(["generate", "--checkpoint", root + "/step-00000001", "--prompt", prompt,
                                               "--max-new-tokens", "20", "--temperature", "0"])
        XCTAssertTrue(loud.output.hasPrefix(prompt + expected + "\n"), loud.output)
        XCTAssertTrue(loud.output.contains("tokens/s"), loud.output)
    }

    func testSamplingIsRepeatablePerSeed() throws {
        func sample(_ seed: Int) throws -> String {
            let run = try ProcessRunner.pretrain(["generate", "--checkpoint", root, "--prompt", "the", "--max-new-tokens", "30",
                                                  "--temperature", "1", "--top-k", "50", "--seed", "\(seed)", "--quiet"])
            XCTAssertEqual(run.status, 0, run.output)
            return run.output
        }
        XCTAssertEqual(try sample(5), try sample(5))
    }

    func testBadInputIsOneClearLine() throws {
        let topK = try ProcessRunner.pretrain(["generate", "--checkpoint", root, "--prompt", "x", "--top-k", "5000"])
        XCTAssertNotEqual(topK.status, 0)
        XCTAssertEqual(topK.lines, ["error: --top-k 5000 is larger than the model's vocabulary of 304 tokens; use at most 304, or 0 for no top-k"])
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let notCheckpoint = try ProcessRunner.pretrain(["generate", "--checkpoint", empty, "--prompt", "x"])
        XCTAssertNotEqual(notCheckpoint.status, 0)
        XCTAssertEqual(notCheckpoint.lines.count, 1, notCheckpoint.output)
        XCTAssertTrue(notCheckpoint.output.contains("\(empty) is not a checkpoint"), notCheckpoint.output)
    }
}
