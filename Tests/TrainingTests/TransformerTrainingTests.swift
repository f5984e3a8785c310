import Config
import DataPipeline
import Distributed
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// `model.arch: transformer` trained on JSON-lines pairs through the data-parallel loop: the loss falls,
/// 2 and 4 ranks give 1 rank's losses and parameters (dropout on), a resumed run repeats an
/// uninterrupted one bit for bit, a 2-rank checkpoint resumed on 3 ranks continues the run, the
/// checkpoint translates greedily (the same ids as a full forward's argmax) and with beams through the
/// shared generation code, `pretrain eval` scores it on pairs, and bad pairs or a checkpoint of another
/// family are one line.
final class TransformerTrainingTests: XCTestCase {
    func config(_ dir: String, processes: Int, accumulation: Int) throws -> RunConfig {
        let c = PairFixtures.config(dir, processes: processes, accumulation: accumulation)
        try ConfigLoader.validate(c, origin: "test")
        return c
    }

    /// 2 and 4 ranks (and ZeRO-1) give 1 rank's losses and parameters (to the 1e-5 of every family: GEMM
    /// adds a micro-batch's gradient into the buffer in another order than the allreduce adds ranks').
    /// The key biases (the middle third of each in_proj_bias) are left out of the parameter comparison:
    /// softmax ignores a constant added to every score of a row, so their true gradient is 0 and what
    /// backward computes is rounding noise (as in PyTorch), which AdamW turns into steps of either sign.
    func testNRanksEqualOneRankAndTheLossFalls() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let blank = try withoutKeyBiases(dir)
        func comparable(_ run: (losses: [Float], params: [Float])) -> (losses: [Float], params: [Float]) { (run.losses, blank(run.params)) }
        let one = comparable(try trainInProcess(config(dir, processes: 1, accumulation: 4), ranks: 1))
        XCTAssertEqual(one.losses.count, 20)
        XCTAssertTrue(try InProcessGroup.run(size: 1) { try Trainer(config: self.config(dir, processes: 1, accumulation: 1), comm: $0, threads: 1).model is TransformerModel }[0])
        let head = one.losses.prefix(3).reduce(0, +) / 3, tail = one.losses.suffix(3).reduce(0, +) / 3
        XCTAssertLessThan(tail, head - 0.5, "the loss falls: \(head) → \(tail)")
        for (ranks, accumulation, zero1) in [(2, 2, false), (4, 1, false), (2, 2, true)] {
            var config = try config(dir, processes: ranks, accumulation: accumulation)
            config.training.zero1 = zero1
            assertSameRun(comparable(try trainInProcess(config, ranks: ranks)), one, "\(ranks) ranks (ZeRO-1 \(zero1))")
        }
    }

    /// The parameters with the key biases (the middle third of each in_proj_bias) set to 0: their true
    /// gradient is 0 (see testNRanksEqualOneRankAndTheLossFalls), so runs on other rank counts may
    /// differ there by rounding noise only.
    func withoutKeyBiases(_ dir: String) throws -> ([Float]) -> [Float] {
        let layout = TransformerLayout(config: try config(dir, processes: 1, accumulation: 1).transformerConfig), C = 32
        let keyBiases = layout.tensors.filter { $0.name.hasSuffix("in_proj_bias") }.map { ($0.offset + C)..<($0.offset + 2 * C) }
        return { params in
            var params = params
            for r in keyBiases { for i in r { params[i] = 0 } }
            return params
        }
    }

    /// A checkpoint written by 2 ranks resumed by 3 (ZeRO-1) continues the uninterrupted 2-rank run.
    func testResharding2To3ContinuesTheRun() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try assertReshardTwoToThreeContinuesTheRun(config(dir, processes: 2, accumulation: 3), dir: dir, comparable: withoutKeyBiases(dir))
    }

    /// Resuming from the step-4 checkpoint of a 2-rank run repeats steps 5…8 bit for bit.
    func testResumeIsBitIdenticalToAnUninterruptedRun() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try assertResumeRepeatsAnUninterruptedRun(config(dir, processes: 2, accumulation: 2), ranks: 2, dir: dir)
    }

    /// `predict --task translation` on a trained checkpoint: greedy decoding with the caches gives, at
    /// every step, the argmax of a full (uncached) forward over the tokens so far; a GPT or T5 use of the
    /// checkpoint is one line.
    func testPredictTranslatesGreedilyAndOtherFamiliesAreRefused() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try config(dir, processes: 1, accumulation: 1)
        let checkpoint = try trainedCheckpoint(config, steps: 30, dir: dir)
        let predictor = TextPredictor(checkpoint: checkpoint)
        predictor.maxNewTokens = 8
        let (text, ids) = try firstOutput(predictor.predict("abcd", task: .translation, topK: 1))
        XCTAssertFalse(ids.isEmpty)
        let tokenizer = try checkpoint.tokenizer()
        XCTAssertEqual(text, tokenizer.decode(ids))
        // The same ids from full forwards: source "abcd" + EOS (<|endoftext|>, id 256), decoder input EOS + ids so far.
        let eos: Int32 = 256, source = tokenizer.encode("abcd", addSpecialTokens: false) + [eos]
        let model = try checkpoint.transformer(source: source.count)
        let reference = try TransformerModel(config: model.config, maxBatch: 1, maxSource: source.count, maxTarget: 9)
        reference.params.pointer.update(from: model.params.pointer, count: model.layout.count)
        reference.training = false
        var decoded: [Int32] = [eos]
        for _ in 0..<8 {
            try reference.forward(source: source, sourceMask: nil, decoderInput: decoded, targets: nil, B: 1, S: source.count, T: decoded.count)
            let V = model.config.vocabSize, row = reference.logits + (decoded.count - 1) * V
            var best = 0
            for v in 1..<V where row[v] > row[best] { best = v }
            decoded.append(Int32(best))
            if Int32(best) == eos { break }
        }
        var expected = Array(decoded.dropFirst())
        if expected.last == eos { expected.removeLast() }
        XCTAssertEqual(ids, expected, "cached greedy = argmax of full forwards")
        // Beam search (--num-beams, --length-penalty) through the predictor: the shared BeamSearch over the cached decoder.
        predictor.generation.numBeams = 3
        predictor.generation.lengthPenalty = 0.5
        let (_, beamIds) = try firstOutput(predictor.predict("abcd", task: .translation, topK: 1))
        var best = try BeamSearch(inference: TransformerInference(model: model, capacity: 8, rows: 3), settings: predictor.generation).run(source: source).ids
        if best.last == eos { best.removeLast() }
        XCTAssertEqual(beamIds, best)
        XCTAssertThrowsError(try checkpoint.gpt()) {
            XCTAssertTrue("\($0)".contains("is a Transformer checkpoint (model.arch transformer); generate and eval need a GPT (causal LM) checkpoint"), "\($0)")
        }
        XCTAssertThrowsError(try checkpoint.t5(batch: 1, source: 1, target: 1)) {
            XCTAssertTrue("\($0)".contains("is a Transformer checkpoint (model.arch transformer)"), "\($0)")
        }
        // Resuming it under a T5 config says so in one line.
        var t5 = config
        t5.family.arch = .t5
        XCTAssertThrowsError(try ModelCheckpoint.checkFamily(checkpoint.reader, matches: t5)) {
            XCTAssertEqual("\($0)".components(separatedBy: "\n").count, 1)
            XCTAssertTrue("\($0)".contains("is a Transformer checkpoint; the config's model.arch is t5 — set model.arch: transformer"), "\($0)")
        }
    }

    /// `pretrain eval` on pairs with a Transformer checkpoint: the loss and token accuracy of direct
    /// forwards pair by pair (weighted by target tokens), BLEU and chrF of the cached greedy outputs;
    /// 2 ranks report 1 rank's numbers (the loss to float rounding); a task prefix is refused in one line.
    func testSeq2SeqEvaluationOfATransformer() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpoint = try trainedCheckpoint(config(dir, processes: 1, accumulation: 1), steps: 30, dir: dir)
        var s = Seq2SeqEvaluation.Settings()
        (s.data, s.generate, s.maxNewTokens, s.microBatch) = (dir + "/val.jsonl", true, 8, 3)
        let one = try InProcessGroup.run(size: 1) { try Seq2SeqEvaluation.run(checkpoint, settings: s, comm: $0) }[0]
        let two = try InProcessGroup.run(size: 2) { try Seq2SeqEvaluation.run(checkpoint, settings: s, comm: $0) }[0]

        let tokenizer = try checkpoint.tokenizer(), eos: Int32 = 256, pairs = try Seq2SeqPairs.load(path: s.data)
        let model = try checkpoint.transformer(source: 10, target: 10), V = model.config.vocabSize
        var lossSum = 0.0, tokens = 0, correct = 0, outputs: [String] = []
        for (source, target) in zip(pairs.sources, pairs.targets) {
            let src = tokenizer.encode(source, addSpecialTokens: false) + [eos], tgt = tokenizer.encode(target, addSpecialTokens: false) + [eos]
            let loss = try model.forward(source: src, sourceMask: nil, decoderInput: [eos] + tgt.dropLast(), targets: tgt, B: 1, S: src.count, T: tgt.count)
            lossSum += Double(loss) * Double(tgt.count)
            tokens += tgt.count
            for t in tgt.indices {
                let row = model.logits + t * V
                if (0..<V).max(by: { row[$0] < row[$1] }) == Int(tgt[t]) { correct += 1 }
            }
            var ids = try TransformerInference(model: model, capacity: 8).greedy(source: src, maxNewTokens: 8)
            if ids.last == eos { ids.removeLast() }
            outputs.append(tokenizer.decode(ids))
        }
        XCTAssertEqual(one.pairs, 8)
        XCTAssertEqual(one.tokens, tokens)
        XCTAssertEqual(one.loss, lossSum / Double(tokens), accuracy: 1e-5 * one.loss)
        XCTAssertEqual(one.tokenAccuracy, Double(correct) / Double(tokens), accuracy: 1e-9)
        XCTAssertEqual(one.bleu!.score, BLEU.corpus(hypotheses: outputs, references: pairs.targets).score, accuracy: 1e-9)
        XCTAssertEqual(one.chrF!.score, ChrF.corpus(hypotheses: outputs, references: pairs.targets).score, accuracy: 1e-9)
        XCTAssertGreaterThan(one.chrF!.score, 0)
        XCTAssertEqual(two.ranks, 2)
        XCTAssertEqual(two.loss, one.loss, accuracy: 1e-5 * one.loss)   // other micro-batches, other padding: float rounding
        XCTAssertEqual(two.tokenAccuracy, one.tokenAccuracy)
        XCTAssertEqual(two.bleu!.score, one.bleu!.score, accuracy: 1e-9)
        XCTAssertEqual(two.chrF!.score, one.chrF!.score, accuracy: 1e-9)
        XCTAssertEqual(one.beams, 1)

        // --num-beams 3: each output is `BeamSearch`'s (itself checked token for token against HF
        // `generate`), scored the same way; 2 ranks again report 1 rank's scores.
        var beams = s
        (beams.numBeams, beams.lengthPenalty) = (3, 0.6)
        let beamOne = try InProcessGroup.run(size: 1) { try Seq2SeqEvaluation.run(checkpoint, settings: beams, comm: $0) }[0]
        let beamTwo = try InProcessGroup.run(size: 2) { try Seq2SeqEvaluation.run(checkpoint, settings: beams, comm: $0) }[0]
        var settings = GenerationSettings()
        (settings.maxNewTokens, settings.numBeams, settings.lengthPenalty) = (8, 3, 0.6)
        let search = try BeamSearch(inference: TransformerInference(model: model, capacity: 8, rows: 3), settings: settings)
        let beamOutputs = try pairs.sources.map { source -> String in
            var ids = try search.run(source: tokenizer.encode(source, addSpecialTokens: false) + [eos]).ids
            if ids.last == eos { ids.removeLast() }
            return tokenizer.decode(ids)
        }
        XCTAssertEqual(beamOne.beams, 3)
        XCTAssertEqual(beamOne.samples.map(\.output), Array(beamOutputs.prefix(3)))
        XCTAssertEqual(beamOne.chrF!.score, ChrF.corpus(hypotheses: beamOutputs, references: pairs.targets).score, accuracy: 1e-9)
        XCTAssertEqual(beamOne.bleu!.score, BLEU.corpus(hypotheses: beamOutputs, references: pairs.targets).score, accuracy: 1e-9)
        XCTAssertEqual(beamTwo.chrF!.score, beamOne.chrF!.score, accuracy: 1e-9)
        XCTAssertEqual(beamOne.loss, one.loss, "beams change the outputs, not the teacher-forced loss")
        XCTAssertTrue(beamOne.message(data: s.data, checkpoint: checkpoint).contains(" | 3 beams | "))
        XCTAssertTrue(one.message(data: s.data, checkpoint: checkpoint).contains(" | greedy | "))

        s.prefix = "translate: "
        XCTAssertThrowsError(try InProcessGroup.run(size: 1) { try Seq2SeqEvaluation.run(checkpoint, settings: s, comm: $0) }) {
            XCTAssertTrue("\($0)".contains("--prefix applies to T5"), "\($0)")
        }
    }

    /// A pair line without a target, invalid JSON, an empty target and a tokenizer without [PAD] are one
    /// line each naming the file (and line); nothing is trained.
    func testBadPairsAreOneLine() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try config(dir, processes: 1, accumulation: 1)
        for (text, expected) in [("{\"source\": \"ab\"}", "bad.jsonl:2: no \"target\" string"), ("{\"source\": \"ab\", ", "bad.jsonl:2: not a JSON object"),
                                 ("{\"source\": \"ab\", \"target\": \"\"}", "bad.jsonl:2: the \"target\" is empty")] {
            try ("{\"source\": \"a\", \"target\": \"b\"}\n" + text + "\n").write(toFile: dir + "/bad.jsonl", atomically: true, encoding: .utf8)
            var bad = config
            bad.data.train = dir + "/bad.jsonl"
            assertTrainerRefuses(bad, expected)
        }
        let added = [AddedToken(id: 256, content: AddedToken.endOfText)]
        try Tokenizer(tokens: (0..<256).map { [UInt8($0)] }, merges: [], addedTokens: added).save(to: dir + "/nopad.json")
        var noPad = config
        noPad.data.tokenizer = dir + "/nopad.json"
        assertTrainerRefuses(noPad, "<pad> or [PAD]")
        var gpt = config
        gpt.family.objective = .clm
        XCTAssertThrowsError(try ConfigLoader.validate(gpt, origin: "run.yaml")) {
            XCTAssertTrue("\($0)".contains("training.objective clm does not train model.arch transformer"), "\($0)")
        }
    }
}
