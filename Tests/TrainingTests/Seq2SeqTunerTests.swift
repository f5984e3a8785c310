import DataPipeline
import Distributed
import Foundation
import Model
import Support
import Training
import XCTest

/// Seq2seq fine-tuning of a T5: batches and loss on target tokens equal Hugging Face's (Fixtures/
/// seq2seq-batch.json, made by make_seq2seq_fixture.py with T5ForConditionalGeneration), gradient
/// accumulation equals one forward over the global batch, N ranks equal 1 rank bitwise, the model
/// learns a toy task, and rows over the limits are truncated or refused in one line.
final class Seq2SeqTunerTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    struct Reference: Decodable {
        let source_len: Int, target_len: Int, eos: Int32
        let sources: [[Int32]], targets: [[Int32]]
        let input_ids: [[Int32]], attention_mask: [[UInt8]], labels: [[Int32]], decoder_input_ids: [[Int32]]
        let loss: Double
        let halves: [Half]
        let grads: [String: [Float]]
        struct Half: Decodable { let loss: Double; let targets: Int }
    }

    func reference() throws -> (Reference, T5, Seq2SeqExamples) {
        let url = URL(fileURLWithPath: Self.fixtures + "/seq2seq-batch.json")
        let r = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        let directory = Self.fixtures + "/seq2seq-t5"
        let model = try T5(config: T5.huggingFaceConfig(directory: directory), maxBatch: 4, maxSource: r.source_len, maxTarget: r.target_len)
        try model.importHuggingFace(from: directory)
        let examples = try Seq2SeqExamples(sourceIds: r.sources, targetIds: r.targets, references: r.targets.map { "\($0)" }, eos: r.eos,
                                           sourceLength: r.source_len, targetLength: r.target_len, overflow: .truncate) { "pair \($0)" }
        return (r, model, examples)
    }

    func testBatchLossAndGradientsEqualHuggingFace() throws {
        let (r, model, examples) = try reference()
        XCTAssertEqual(examples.truncated, 2, "the 11-token source and the 9-token target are cut")
        let batch = Seq2SeqBatch(capacity: 4, maxSource: r.source_len, maxTarget: r.target_len, pad: model.config.padTokenId,
                                 decoderStart: model.config.decoderStartTokenId, ignoreIndex: model.config.ignoreIndex)
        batch.fill(sources: examples.sources, targets: examples.targets, indices: 0..<4)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: batch.source, count: 4 * batch.S)), r.input_ids.flatMap { $0 })
        XCTAssertEqual(Array(UnsafeBufferPointer(start: batch.sourceMask, count: 4 * batch.S)), r.attention_mask.flatMap { $0 })
        XCTAssertEqual(Array(UnsafeBufferPointer(start: batch.labels, count: 4 * batch.T)), r.labels.flatMap { $0 })
        XCTAssertEqual(Array(UnsafeBufferPointer(start: batch.decoderInput, count: 4 * batch.T)), r.decoder_input_ids.flatMap { $0 })
        XCTAssertEqual(batch.targetTokens, r.halves.reduce(0) { $0 + $1.targets })

        // Two micro-batches of 2, accumulated: the loss and gradients of one forward over the 4 pairs.
        let tuner = try Seq2SeqTuner(model: model, microBatch: 2, accumulation: 2, settings: Optimizer.Settings(), seed: 1)
        let losses = try tuner.train(examples, steps: 1, lr: 0)
        XCTAssertEqual(Double(losses[0]), r.loss, accuracy: 1e-5 * r.loss, "loss on target tokens only")
        for (name, expected) in r.grads {
            let t = try XCTUnwrap(model.layout.tensor(named: name), name)
            let ours = Array(model.grads.buffer[t.offset..<(t.offset + t.count)])
            var worst = 0.0, scale = 0.0
            for (a, b) in zip(ours, expected) { worst = max(worst, Double(abs(a - b))); scale = max(scale, Double(abs(b))) }
            XCTAssertLessThanOrEqual(worst / scale, 1e-4, "gradient of \(name)")
        }
        // Evaluation sums: the same loss, per micro-batch of 2 (HF's halves) added by target tokens.
        let sums = try tuner.evaluate(examples)
        XCTAssertEqual(sums.tokens, Double(batch.targetTokens))
        XCTAssertEqual(sums.lossSum / sums.tokens, r.loss, accuracy: 1e-5 * r.loss)
        XCTAssertEqual(sums.lossSum, r.halves.reduce(0.0) { $0 + $1.loss * Double($1.targets) }, accuracy: 1e-4)
    }

    func testOverLongRowsAreRefusedInOneLineWhenAsked() throws {
        let pairs = Seq2SeqPairs(sources: ["short", "a source far too long"], targets: ["ok", "ok"], path: "pairs.jsonl")
        XCTAssertThrowsError(try Seq2SeqExamples(pairs, tokenizer: tokenizer(), prefix: "", eos: 256, sourceLength: 8, targetLength: 4, overflow: .refuse)) {
            XCTAssertEqual("\($0)", "pairs.jsonl:2: the source is 22 tokens with EOS, more than --seq-len 8; raise --seq-len, shorten the text, or pass --too-long truncate")
        }
        let fitted = try Seq2SeqExamples(pairs, tokenizer: tokenizer(), prefix: "p: ", eos: 256, sourceLength: 10, targetLength: 4, overflow: .truncate)
        XCTAssertEqual(fitted.truncated, 1)
        XCTAssertEqual(fitted.sources[0], Array("p: short".utf8).map(Int32.init) + [256], "the prefix, the text, EOS")
        XCTAssertEqual(fitted.sources[1], Array("p: a sour".utf8).map(Int32.init) + [256], "the first 9 ids and EOS")
        XCTAssertEqual(fitted.targets[1], Array("ok".utf8).map(Int32.init) + [256])
    }

    /// A byte-level tokenizer: ids 0…255 are bytes, then the specials and 8 sentinels.
    func tokenizer() throws -> Tokenizer {
        let specials = AddedToken.defaultSpecials + T5SpecialTokens.sentinelNames(8).reversed()
        return try Tokenizer(tokens: (0..<256).map { [UInt8($0)] as [UInt8]? }, merges: [],
                             addedTokens: specials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) })
    }

    /// A toy task over ids 2…31: the target is the source with each id + 16 (mod 30), 2…6 ids each.
    func task(_ count: Int, seed: UInt64) throws -> Seq2SeqExamples {
        var rng = SplitMix64(seed: seed)
        var sources: [[Int32]] = [], targets: [[Int32]] = []
        for _ in 0..<count {
            let source = (0..<(2 + Int(rng.next() % 5))).map { _ in Int32(2 + rng.next() % 30) }
            sources.append(source)
            targets.append(source.map { 2 + ($0 - 2 + 16) % 30 })
        }
        return try Seq2SeqExamples(sourceIds: sources, targetIds: targets, references: targets.map { "\($0)" }, eos: 1, sourceLength: 8,
                                   targetLength: 8, overflow: .refuse) { "pair \($0)" }
    }

    func model(dropout: Float, width: Int = 32, batch: Int = 8) throws -> T5 {
        var c = T5Config()
        (c.vocabSize, c.dModel, c.dKV, c.numHeads, c.dFF, c.numLayers, c.numDecoderLayers) = (32, width, width / 4, 4, 2 * width, 2, 2)
        (c.relativeAttentionNumBuckets, c.relativeAttentionMaxDistance, c.dropoutRate) = (8, 16, dropout)
        (c.padTokenId, c.eosTokenId) = (0, 1)
        let model = try T5(config: c, maxBatch: batch, maxSource: 8, maxTarget: 8)
        model.initializeWeights(seed: 5)
        return model
    }

    /// 2 ranks × 1 micro-batch and 4 ranks × 1 equal 1 rank × 2 and × 4 bit for bit (losses, parameters),
    /// with dropout on.
    func testNRanksEqualOneRankBitwise() throws {
        let data = try task(64, seed: 3)
        func run(ranks: Int, accumulation: Int) throws -> (losses: [Float], params: [Float]) {
            try InProcessGroup.run(size: ranks) { comm -> ([Float], [Float]) in
                let tuner = try Seq2SeqTuner(model: try self.model(dropout: 0.1), microBatch: 4, accumulation: accumulation,
                                         settings: Optimizer.Settings(), seed: 9)
                let losses = try tuner.train(data, steps: 6, lr: 3e-3, comm: comm)
                return (losses, tuner.model.params.toArray())
            }[0]
        }
        for ranks in [2, 4] {
            let one = try run(ranks: 1, accumulation: ranks), many = try run(ranks: ranks, accumulation: 1)
            XCTAssertEqual(many.losses.map(\.bitPattern), one.losses.map(\.bitPattern), "\(ranks) ranks: losses")
            XCTAssertEqual(many.params.map(\.bitPattern), one.params.map(\.bitPattern), "\(ranks) ranks: parameters")
        }
    }

    /// The toy task is learnt: the loss falls, held-out token accuracy is far above chance (1/30) and
    /// several greedy outputs are exactly right (0.64 and 13 of 40 on one run, 8 on another: the float
    /// sums differ with the threads, so the bounds leave room).
    func testLearnsAToyTask() throws {
        let tuner = try Seq2SeqTuner(model: try model(dropout: 0, width: 64, batch: 16), microBatch: 16, settings: Optimizer.Settings(), seed: 2)
        let test = try task(40, seed: 8)
        let before = try tuner.evaluate(test)
        let losses = try tuner.train(try task(800, seed: 7), steps: 700, lr: 4e-3)
        let after = try tuner.evaluate(test)
        XCTAssertLessThan(losses.suffix(10).reduce(0, +) / 10, losses.prefix(10).reduce(0, +) / 10 - 1, "the loss falls")
        XCTAssertGreaterThan(after.correct / after.tokens, 0.4, "token accuracy (chance 1/30; before: \(before.correct / before.tokens))")
        let outputs = try tuner.generate(test, range: 0..<test.count, maxNewTokens: 10)
        let right = zip(outputs, test.targets).filter { $0.0 + [1] == $0.1 }.count
        XCTAssertGreaterThanOrEqual(right, 3, "exact greedy outputs (by chance: far below 1 in 1000 each)")
    }
}
