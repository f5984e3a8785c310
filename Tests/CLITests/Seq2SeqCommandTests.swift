import Checkpoint
import Config
import DataPipeline
import Foundation
import Model
import Support
import TestSupport
import Training
import XCTest

/// `pretrain finetune --task seq2seq` and `pretrain eval` on pairs with a T5 checkpoint: it learns a
/// toy task (loss falls, reports and a metrics file), 2 ranks under mpirun equal 1 rank with 2
/// micro-batches bit for bit, a resumed run equals an uninterrupted one bit for bit, eval scores BLEU and
/// chrF the same on 1 and 2 ranks, and bad input is one line each.
final class Seq2SeqCommandTests: XCTestCase {
    /// A work directory with a byte-level tokenizer (specials 256–260, 8 sentinels) and a step-0 T5
    /// checkpoint `ckpt` imported from a Hugging Face directory written in-test (dropout 0.1).
    func t5Checkpoint() throws -> String {
        let dir = try CheckpointFixtures.temporaryDirectory("seq2seq")
        let specials = AddedToken.defaultSpecials + T5SpecialTokens.sentinelNames(8).reversed()
        try Tokenizer(tokens: (0..<256).map { [UInt8($0)] as [UInt8]? }, merges: [],
                      addedTokens: specials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }).save(to: dir + "/tokenizer.json")
        var c = T5Config()
        (c.vocabSize, c.dModel, c.dKV, c.numHeads, c.dFF, c.numLayers, c.numDecoderLayers) = (256 + specials.count, 32, 8, 4, 64, 2, 2)
        (c.relativeAttentionNumBuckets, c.relativeAttentionMaxDistance, c.dropoutRate, c.padTokenId, c.eosTokenId) = (8, 16, 0.1, 257, 256)
        let model = try T5(config: c, maxBatch: 1, maxSource: 1, maxTarget: 1)
        model.initializeWeights(seed: 4)
        try model.exportHuggingFace(to: dir + "/hf")
        try FileManager.default.copyItem(atPath: dir + "/tokenizer.json", toPath: dir + "/hf/tokenizer.json")
        _ = try HuggingFaceCheckpointImport.run(source: dir + "/hf", root: dir + "/ckpt", run: RunConfig())
        return dir
    }

    /// `count` pairs {"source": lowercase letters, "target": the same in uppercase}; returns the path.
    func pairs(_ dir: String, _ name: String, count: Int, seed: UInt64) throws -> String {
        var rng = SplitMix64(seed: seed)
        let lines = (0..<count).map { _ -> String in
            let word = String((0..<(2 + Int(rng.next() % 5))).map { _ in Character(UnicodeScalar(UInt8(97 + rng.next() % 8))) })
            return "{\"source\": \"\(word)\", \"target\": \"\(word.uppercased())\"}"
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8)
        return dir + "/" + name
    }

    func finetune(_ dir: String, out: String, _ extra: [String]) -> [String] {
        ["finetune", "--task", "seq2seq", "--checkpoint", dir + "/ckpt", "--data", dir + "/train.jsonl", "--lr", "3e-3", "--seq-len", "12",
         "--target-len", "8", "--prefix", "up: ", "--threads", "1", "--out", out] + extra
    }

    /// 1 rank × 2 micro-batches = 2 ranks × 1 under mpirun (bitwise), and 3 steps then --resume to 6 = 6
    /// steps straight (bitwise); the run reports, notices truncation and learns.
    func testTwoRanksAndResumeEqualOneStraightRunBitwise() throws {
        let dir = try t5Checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try pairs(dir, "train.jsonl", count: 64, seed: 1)
        _ = try pairs(dir, "test.jsonl", count: 16, seed: 2)
        let common = ["--micro-batch", "4", "--steps", "6", "--eval-every", "3", "--test", dir + "/test.jsonl"]
        let one = try ProcessRunner.pretrain(finetune(dir, out: dir + "/one", common + ["--gradient-accumulation-steps", "2"]))
        XCTAssertEqual(one.status, 0, one.output)
        XCTAssertTrue(one.output.contains("training 6 steps × 1 rank(s) × 2 × 4 pairs (source ≤ 12, target ≤ 8 tokens with EOS) on 64 pairs, prefix 'up: '"), one.output)
        XCTAssertTrue(one.lines.contains { $0.hasPrefix("step 3/6: train loss ") && $0.contains("test token accuracy") }, one.output)
        XCTAssertTrue(one.lines.contains { $0.hasPrefix("test loss ") && $0.contains("(16 pairs,") }, one.output)
        let two = try ProcessRunner.mpirun(2, finetune(dir, out: dir + "/two", common))
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertEqual(two.lines.filter { $0.hasPrefix("saved ") }.count, 1, "rank 0 alone saves: \(two.output)")
        let a = try CheckpointFixtures.buffers(dir + "/one/step-00000006"), b = try CheckpointFixtures.buffers(dir + "/two/step-00000006")
        XCTAssertEqual(CheckpointFixtures.bits(b.params), CheckpointFixtures.bits(a.params), "2 ranks × 1 = 1 rank × 2: parameters")
        XCTAssertEqual(CheckpointFixtures.bits(b.v), CheckpointFixtures.bits(a.v), "2 ranks × 1 = 1 rank × 2: AdamW moments")
        let reader = try CheckpointReader(path: dir + "/ckpt/step-00000000")
        var pre = [Float](repeating: 0, count: a.params.count)
        try pre.withUnsafeMutableBufferPointer { try reader.readParameters(into: $0) }
        XCTAssertNotEqual(a.params, pre, "the run trained")

        let half = try ProcessRunner.pretrain(finetune(dir, out: dir + "/resumed", ["--micro-batch", "4", "--steps", "3", "--gradient-accumulation-steps", "2"]))
        XCTAssertEqual(half.status, 0, half.output)
        let rest = try ProcessRunner.pretrain(finetune(dir, out: dir + "/resumed", common + ["--gradient-accumulation-steps", "2", "--resume"]))
        XCTAssertEqual(rest.status, 0, rest.output)
        XCTAssertTrue(rest.output.contains("continuing after step 3"), rest.output)
        let c = try CheckpointFixtures.buffers(dir + "/resumed/step-00000006")
        XCTAssertEqual(CheckpointFixtures.bits(c.params), CheckpointFixtures.bits(a.params), "resumed = straight: parameters")
        XCTAssertEqual(CheckpointFixtures.bits(c.m), CheckpointFixtures.bits(a.m), "resumed = straight: AdamW moments")

        // Eval: the test loss the fine-tune ended with.
        let eval = ["eval", "--checkpoint", dir + "/one", "--data", dir + "/test.jsonl", "--threads", "1"]
        let e1 = try ProcessRunner.pretrain(eval)
        XCTAssertEqual(e1.status, 0, e1.output)
        let finalLoss = try XCTUnwrap(one.lines.first { $0.hasPrefix("test loss ") }.flatMap { Double($0.split(separator: " ")[2]) }, one.output)
        let evalLoss = try XCTUnwrap(e1.lines.first { $0.hasPrefix("val loss ") }.flatMap { Double($0.split(separator: " ")[2]) }, e1.output)
        XCTAssertEqual(evalLoss, finalLoss, accuracy: 6e-5, "eval's loss is the fine-tune's")
    }

    /// A longer fine-tune learns the toy task: `eval --generate` scores chrF well above an untrained model's 0, the
    /// same on 1 and 2 ranks.
    func testEvalGeneratesAndScoresTheSameOnOneAndTwoRanks() throws {
        let dir = try t5Checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try pairs(dir, "train.jsonl", count: 400, seed: 1)
        _ = try pairs(dir, "test.jsonl", count: 24, seed: 2)
        let tuned = try ProcessRunner.pretrain(finetune(dir, out: dir + "/ft", ["--micro-batch", "16", "--steps", "150", "--eval-every", "0"]))
        XCTAssertEqual(tuned.status, 0, tuned.output)
        let eval = ["eval", "--checkpoint", dir + "/ft", "--data", dir + "/test.jsonl", "--generate", "--max-new-tokens", "8", "--threads", "1"]
        let e1 = try ProcessRunner.pretrain(eval), e2 = try ProcessRunner.mpirun(2, eval)
        XCTAssertEqual(e1.status, 0, e1.output)
        XCTAssertEqual(e2.status, 0, e2.output)
        let scores = { (run: ProcessRunner.Run) in run.lines.first { $0.hasPrefix("val loss ") }?.components(separatedBy: " | ").prefix(5).joined(separator: " | ") }
        let line = try XCTUnwrap(scores(e1), e1.output)
        XCTAssertEqual(scores(e2), line, "1 and 2 ranks")
        XCTAssertTrue(e1.output.contains("24 pairs") && e1.output.contains("prefix") == false, e1.output)
        let chrF = try XCTUnwrap(Double(line.components(separatedBy: "chrF ").last ?? ""), line)
        XCTAssertGreaterThan(chrF, 10, "the outputs resemble the targets (6 untrained steps score 0.00): \(e1.output)")
        XCTAssertEqual(e1.lines.filter { $0.hasPrefix("output: ") }.count, 3, e1.output)
    }

    /// Runs `pretrain arguments` and asserts it fails with one line "error: …" containing `expected`.
    func fails(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try ProcessRunner.pretrain(arguments)
        XCTAssertNotEqual(run.status, 0, run.output, file: file, line: line)
        XCTAssertEqual(run.lines.count, 1, "one line: \(run.output)", file: file, line: line)
        XCTAssertTrue(run.output.hasPrefix("error: ") && run.output.contains(expected), run.output, file: file, line: line)
    }

    func testBadInputIsOneLineEach() throws {
        let dir = try t5Checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = dir + "/bad.jsonl"
        func write(_ text: String) throws { try text.write(toFile: bad, atomically: true, encoding: .utf8) }
        let args = ["finetune", "--task", "translation", "--checkpoint", dir + "/ckpt", "--data", bad, "--steps", "1", "--micro-batch", "1",
                    "--out", dir + "/out", "--threads", "1"]
        try write("{\"source\": \"a\", \"target\": \"A\"}\n{\"source\": \"b\"}\n")
        try fails(args, "\(bad):2: no \"target\" string (the line has \"source\")")
        try write("{\"source\": \"a\", \"target\": \"A\"}\n\n{\"source\": \"b\", \"target\": \"B\"\n")
        try fails(args, "\(bad):3: not a JSON object")
        try write("{\"en\": \"a\", \"de\": \"\"}\n")
        try fails(args + ["--fields", "en,de"], "\(bad):1: the \"de\" is empty")
        try fails(args + ["--fields", "en"], "--fields 'en': give two different JSON field names")
        try write("{\"source\": \"abcdefghijklmnopqrstuvwxyz\", \"target\": \"A\"}\n")
        try fails(args + ["--seq-len", "8", "--too-long", "refuse"], "\(bad):1: the source is 27 tokens with EOS, more than --seq-len 8")
        let truncated = try ProcessRunner.pretrain(args.map { $0 == dir + "/out" ? dir + "/truncated" : $0 } + ["--seq-len", "8"])
        XCTAssertEqual(truncated.status, 0, truncated.output)
        XCTAssertEqual(truncated.lines.filter { $0.hasPrefix("notice: 1 of 1 pairs of \(bad) are longer than --seq-len 8") }.count, 1, truncated.output)
        try fails(["eval", "--checkpoint", dir + "/ckpt"], "is a T5 checkpoint: it is evaluated on (source, target) pairs — pass --data PAIRS.jsonl")
        try write("{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 1}\n")
        try fails(args.map { $0 == "translation" ? "classify" : $0 } + ["--labels", "2"], "is a T5 checkpoint; --task classify trains classifiers on BERT or GPT checkpoints")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/step-00000000"), "nothing written by a refused run")
    }

    /// A GPT checkpoint given to --task seq2seq, and the two families crossed when resuming
    /// `pretrain train`: one line each, the checkpoint untouched.
    func testCheckpointsOfTheOtherFamilyAreOneLine() throws {
        let gpt = try GPTCheckpointFixtures.pretrained.get()
        let dir = try t5Checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try pairs(dir, "train.jsonl", count: 8, seed: 1)
        try fails(["finetune", "--task", "seq2seq", "--checkpoint", gpt + "/ckpt", "--data", dir + "/train.jsonl", "--out", dir + "/x"],
                  "is a GPT checkpoint (model.arch gpt); --task seq2seq needs a T5 checkpoint")
        let t5 = dir + "/ckpt/step-00000000"
        let before = try FileManager.default.contentsOfDirectory(atPath: t5).sorted()
        let gptRun = try ProcessRunner.pretrain(["train", "--config", gpt + "/gpt.yaml", "--quiet", "--resume", t5, "--set", "checkpoint.dir=\(dir)/g",
                                                 "--set", "logging.run_dir=\(dir)/g-run"])
        XCTAssertNotEqual(gptRun.status, 0, gptRun.output)
        XCTAssertEqual(gptRun.lines.filter { $0.hasPrefix("error: ") }, gptRun.lines.filter { $0.contains("is a T5 checkpoint; the config's model.arch is gpt") }, gptRun.output)
        XCTAssertEqual(gptRun.lines.filter { $0.hasPrefix("error: ") }.count, 1, gptRun.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t5).sorted(), before)
        let gptCheckpoint = gpt + "/ckpt/step-00000010"
        let t5Run = try ProcessRunner.pretrain(["train", "--config", gpt + "/gpt.yaml", "--quiet", "--resume", gptCheckpoint, "--set", "model.arch=t5",
                                                "--set", "data.tokenizer=\(dir)/tokenizer.json", "--set", "model.vocab_size=269",
                                                "--set", "checkpoint.dir=\(dir)/t", "--set", "logging.run_dir=\(dir)/t-run"])
        XCTAssertNotEqual(t5Run.status, 0, t5Run.output)
        XCTAssertEqual(t5Run.lines.filter { $0.hasPrefix("error: ") }.count, 1, t5Run.output)
        XCTAssertTrue(t5Run.output.contains("is a GPT checkpoint; the config's model.arch is t5"), t5Run.output)
        try fails(["eval", "--checkpoint", dir + "/ckpt", "--data", dir + "/train.jsonl", "--generate", "--max-new-tokens", "0"], "--max-new-tokens 0 must be at least 1")
        try fails(["eval", "--checkpoint", dir + "/ckpt", "--data", dir + "/train.jsonl", "--generate", "--num-beams", "0"], "--num-beams 0 must be at least 1")
        try fails(["eval", "--checkpoint", dir + "/ckpt", "--data", dir + "/train.jsonl", "--generate", "--num-beams", "2", "--early-stopping", "soon"],
                  "--early-stopping soon is not a choice; use true, false or never")
    }
}
