import Config
import DataPipeline
import Distributed
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// T5 span-corruption pretraining through the data-parallel loop: 1, 2 and 4 ranks (and ZeRO-1) give the
/// losses and parameters of 1 rank with dropout on, the loss falls, a resumed run repeats an
/// uninterrupted one bit for bit, a 2-rank checkpoint resumed on 3 ranks continues the run, and a
/// tokenizer without sentinels is a one-line error.
final class T5TrainingTests: XCTestCase {
    /// A T5 config over the fixture corpus (ids < 64) with a byte-level tokenizer whose specials
    /// ([PAD], <|endoftext|>, …, then `extraIds` sentinels) follow the 256 bytes.
    func t5Config(data dir: String, processes: Int, accumulation: Int, extraIds: Int = 8) throws -> RunConfig {
        let bytes = (0..<256).map { [UInt8($0)] as [UInt8]? }
        let specials = AddedToken.defaultSpecials + T5SpecialTokens.sentinelNames(extraIds).reversed()
        let added = specials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        let path = dir + "/tokenizer.json"
        try Tokenizer(tokens: bytes, merges: [], addedTokens: added).save(to: path)
        var c = TrainingFixtures.config(data: dir, processes: processes, microBatch: 2, accumulation: accumulation,
                                        model: GPTConfig(vocabSize: 256 + specials.count, maxSeqLen: 32, nLayer: 2, nHead: 2, dModel: 32))
        c.family.arch = .t5
        c.family.dKV = 12
        c.family.numDecoderLayers = 1
        c.family.relativeAttentionNumBuckets = 8
        c.family.relativeAttentionMaxDistance = 16
        c.family.feedForwardProj = .gatedGELU
        c.family.tieWordEmbeddings = false
        c.training.seqLen = 24
        c.model.layerNormEps = 1e-6
        c.model.residualDropout = 0.1
        c.data.tokenizer = path
        try ConfigLoader.validate(c, origin: "test")
        return c
    }

    func testSpanCorruptionNRanksEqualOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let one = try trainInProcess(t5Config(data: dir, processes: 1, accumulation: 4), ranks: 1)
        XCTAssertEqual(one.losses.count, 20)
        XCTAssertTrue(try InProcessGroup.run(size: 1) { try Trainer(config: self.t5Config(data: dir, processes: 1, accumulation: 1), comm: $0, threads: 1).model is T5 }[0])
        XCTAssertTrue(one.losses.allSatisfy(\.isFinite), "\(one.losses)")
        let head = one.losses.prefix(3).reduce(0, +) / 3, tail = one.losses.suffix(3).reduce(0, +) / 3
        XCTAssertLessThan(tail, head - 0.5, "the loss falls: \(head) → \(tail)")
        for (ranks, accumulation, zero1) in [(2, 2, false), (4, 1, false), (2, 2, true)] {
            var config = try t5Config(data: dir, processes: ranks, accumulation: accumulation)
            config.training.zero1 = zero1
            assertSameRun(try trainInProcess(config, ranks: ranks), one, "\(ranks) ranks (ZeRO-1 \(zero1))")
        }
    }

    /// With the shared embedding's lookup rows deferred (the table's dense part sent right after the
    /// head, every rank's rows added after the reduction), 2 ranks still give 1 rank's run, tied and
    /// untied, with dropout; the rows really took the other path (not the whole-table run bit for bit).
    func testDeferredTokenEmbeddingNRanksEqualOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for tied in [true, false] {
            var single = try t5Config(data: dir, processes: 1, accumulation: 2)
            single.family.tieWordEmbeddings = tied
            let one = try trainInProcess(single, ranks: 1)
            var config = try t5Config(data: dir, processes: 2, accumulation: 1)
            config.family.tieWordEmbeddings = tied
            var runs: [Bool: (losses: [Float], params: [Float])] = [:]
            for deferring in [true, false] {
                var options = TrainerOptions()
                options.overlapCommunication = true
                options.deferTokenEmbedding = deferring
                let deferred = try InProcessGroup.run(size: 2) { comm in
                    try Trainer(config: config, comm: comm, threads: 1, options: options).defersTokenEmbedding
                }
                XCTAssertEqual(deferred, [deferring, deferring], "tied \(tied)")
                runs[deferring] = try trainInProcess(config, ranks: 2, options: options)
                assertSameRun(runs[deferring]!, one, "2 ranks, tied \(tied), deferred \(deferring)")
            }
            XCTAssertNotEqual(runs[true]!.params, runs[false]!.params, "tied \(tied): the deferred rows are summed in another order")
        }
    }

    /// `mixed_precision: bf16` reaches T5 through the shared block and the head: 60 steps end within
    /// 2 % of the fp32 run's loss (mean of the last 10), and the weights differ (bf16 really ran).
    func testT5TrainsInBF16LikeFP32() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func run(_ precision: String) throws -> (losses: [Float], params: [Float]) {
            var config = try t5Config(data: dir, processes: 1, accumulation: 1)
            config.training.steps = 60
            config.launch.mixedPrecision = precision
            return try InProcessGroup.run(size: 1) { comm -> ([Float], [Float]) in
                var losses: [Float] = []
                let trainer = try Trainer(config: config, comm: comm, threads: 1) { if case let .step(m) = $0 { losses.append(m.loss) } }
                try trainer.run()
                return (losses, trainer.model.params.toArray())
            }[0]
        }
        let fp32 = try run("no"), bf16 = try run("bf16")
        let mean = { (xs: ArraySlice<Float>) in xs.reduce(0.0) { $0 + Double($1) } / Double(xs.count) }
        let a = mean(fp32.losses.suffix(10)), b = mean(bf16.losses.suffix(10))
        XCTAssertLessThan(a, Double(fp32.losses.first!) - 0.5, "T5 learns: \(fp32.losses.first!) → \(a)")
        XCTAssertEqual(b, a, accuracy: 0.02 * a, "bf16 \(b) vs fp32 \(a)")
        XCTAssertNotEqual(bf16.params, fp32.params, "bf16 rounds something")
    }

    /// Resuming from the step-4 checkpoint of a 2-rank ZeRO-1 run repeats steps 5…8 of the uninterrupted
    /// run bit for bit (corruption keyed by the stream index, dropout by step, micro-batch and rank).
    func testResumeIsBitIdenticalToAnUninterruptedRun() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try t5Config(data: dir, processes: 2, accumulation: 2)
        config.training.zero1 = true
        try assertResumeRepeatsAnUninterruptedRun(config, ranks: 2, dir: dir)
    }

    /// A checkpoint written by 2 ranks resumed by 3 (ZeRO-1) continues the uninterrupted 2-rank run.
    func testResharding2To3ContinuesTheRun() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try assertReshardTwoToThreeContinuesTheRun(t5Config(data: dir, processes: 2, accumulation: 3), dir: dir)
    }

    func testTokenizerWithoutSentinelsIsOneLine() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try t5Config(data: dir, processes: 1, accumulation: 1, extraIds: 0)
        assertTrainerRefuses(config, "tokenizer.json: tokenizer has no <extra_id_0>…, which T5 span corruption needs")
    }

    /// The objective and the architecture must agree, and BERT/GPT-only keys are refused for t5.
    func testMismatchedObjectiveAndKeysAreOneLine() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try t5Config(data: dir, processes: 1, accumulation: 1)
        config.family.objective = .clm
        XCTAssertThrowsError(try ConfigLoader.validate(config, origin: "run.yaml")) {
            XCTAssertEqual("\($0)", "run.yaml: training.objective clm does not train model.arch t5, which learns span corruption; set training.objective: span_corruption (or auto)")
        }
        config.family.objective = .auto
        config.model.attentionDropout = 0.1
        XCTAssertThrowsError(try ConfigLoader.validate(config, origin: "run.yaml")) { XCTAssertTrue("\($0)".contains("model.attention_dropout does not apply to model.arch t5")) }
        var gpt = TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 1)
        gpt.family.objective = .spanCorruption
        XCTAssertThrowsError(try ConfigLoader.validate(gpt, origin: "run.yaml")) { XCTAssertTrue("\($0)".contains("span_corruption needs model.arch t5")) }
    }

    /// `checkpoint import` of a Hugging Face T5 directory (model_type t5) makes a step-0 T5 checkpoint
    /// with its weights and tokenizer; `checkpoint export` of it writes the same tensors back, bitwise;
    /// the checkpoint refuses GPT use in one line.
    func testHuggingFaceImportThenExportIsBitwise() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tokenizer = try t5Config(data: dir, processes: 1, accumulation: 1).data.tokenizer
        var c = T5Config()
        c.vocabSize = 272; c.dModel = 16; c.dKV = 6; c.numHeads = 2; c.dFF = 24; c.numLayers = 2; c.numDecoderLayers = 1
        c.feedForward = .gatedGELU; c.tieWordEmbeddings = false; c.dropoutRate = 0.1
        c.padTokenId = 257; c.eosTokenId = 256   // [PAD] and <|endoftext|> of the test tokenizer
        let original = try T5(config: c, maxBatch: 1, maxSource: 1, maxTarget: 1)
        original.initializeWeights(seed: 21)
        try original.exportHuggingFace(to: dir + "/hf", prefix: "summarize: ")
        try FileManager.default.copyItem(atPath: tokenizer, toPath: dir + "/hf/tokenizer.json")

        let (imported, step0) = try HuggingFaceCheckpointImport.run(source: dir + "/hf", root: dir + "/ckpt", run: RunConfig())
        try ConfigLoader.validate(imported.config, origin: "imported")
        let checkpoint = try ModelCheckpoint.open(step0)
        XCTAssertEqual(checkpoint.architecture, .t5)
        let loaded = try checkpoint.t5(batch: 1, source: 1, target: 1)
        XCTAssertEqual(loaded.config, c, "config.json, tokenizer ids and dropout_rate survive the checkpoint")
        XCTAssertEqual(loaded.params.toArray().map(\.bitPattern), original.params.toArray().map(\.bitPattern))
        XCTAssertEqual(checkpoint.config.data.sourcePrefix, "summarize: ", "config.prefix is the task prefix predict and eval add")

        _ = try T5Family.exportHuggingFace(checkpoint, to: dir + "/out")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/out/tokenizer.json"))
        XCTAssertEqual(T5.huggingFacePrefix(directory: dir + "/out"), "summarize: ", "the prefix HF pipelines add survives the way back")
        let back = try T5(config: try T5.huggingFaceConfig(directory: dir + "/out"), maxBatch: 1, maxSource: 1, maxTarget: 1)
        try back.importHuggingFace(from: dir + "/out")
        XCTAssertEqual(back.params.toArray().map(\.bitPattern), original.params.toArray().map(\.bitPattern))
        XCTAssertThrowsError(try checkpoint.gpt()) {
            XCTAssertTrue("\($0)".contains("is a T5 checkpoint (model.arch t5); generate and eval need a GPT (causal LM) checkpoint"), "\($0)")
        }
    }

    /// `predict --task translation` on a trained T5 checkpoint: the text's tokens and EOS, greedy with the
    /// caches, decoded; the same ids as `T5Inference` on the checkpoint's model; with beams those of
    /// `BeamSearch`; sampled, the same texts for the same seed. Other tasks and other families are one line.
    func testPredictGeneratesWithTheCheckpoint() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let checkpoint = try trainedCheckpoint(t5Config(data: dir, processes: 1, accumulation: 1), steps: 3, dir: dir)
        let predictor = TextPredictor(checkpoint: checkpoint)
        predictor.maxNewTokens = 7
        let (text, ids) = try firstOutput(predictor.predict("hello", task: .translation, topK: 1))
        let tokenizer = try checkpoint.byteLevelTokenizer()
        let source = tokenizer.encode("hello") + [256]   // <|endoftext|> is the EOS
        var expected = try T5Inference(model: checkpoint.t5(batch: 1, source: source.count, target: 1), capacity: 7).greedy(source: source, maxNewTokens: 7)
        if expected.last == 256 { expected.removeLast() }
        XCTAssertEqual(ids, expected)
        XCTAssertFalse(ids.isEmpty)
        XCTAssertEqual(text, tokenizer.decodeText(ids))
        XCTAssertThrowsError(try predictor.predict("hello", task: .fillMask, topK: 1)) {
            XCTAssertTrue("\($0)".contains("is a T5 checkpoint; it generates text"), "\($0)")
        }
        // Beam search and sampling through the predictor: BeamSearch's ids; one seeded stream.
        predictor.generation.numBeams = 3
        let (_, beamIds) = try firstOutput(predictor.predict("hello", task: .translation, topK: 1))
        let beams = try T5Inference(model: try checkpoint.t5(batch: 1, source: source.count, target: 1), capacity: 7, rows: 3)
        var best = try BeamSearch(inference: beams, settings: predictor.generation).run(source: source).ids
        if best.last == 256 { best.removeLast() }
        XCTAssertEqual(beamIds, best)
        func sampled(seed: UInt64) throws -> [[Int32]] {
            let p = TextPredictor(checkpoint: checkpoint)
            p.generation = try GenerationSettings(maxNewTokens: 7, numBeams: 1, lengthPenalty: 1, earlyStopping: "false",
                                                  temperature: 2, topK: nil, topP: nil, seed: seed)
            return try (0..<3).map { _ in
                let (_, ids) = try firstOutput(p.predict("hello", task: .translation, topK: 1))
                return ids
            }
        }
        XCTAssertEqual(try sampled(seed: 5), try sampled(seed: 5))
        XCTAssertNotEqual(try sampled(seed: 5), try sampled(seed: 6))
    }

    /// The task prefix a checkpoint was fine-tuned with (`data.source_prefix`) goes before each text that
    /// does not already start with it, as HF pipelines add `config.prefix`; `prefix` overrides it ("" =
    /// none). The ids are `T5Inference`'s greedy ones on the prefixed text.
    func testPredictPutsTheCheckpointsTaskPrefixFirst() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try t5Config(data: dir, processes: 1, accumulation: 1)
        config.data.sourcePrefix = "tr: "
        let checkpoint = try trainedCheckpoint(config, steps: 3, dir: dir)
        XCTAssertEqual(checkpoint.config.data.sourcePrefix, "tr: ")
        let tokenizer = try checkpoint.byteLevelTokenizer()
        func greedy(_ text: String) throws -> [Int32] {
            let source = tokenizer.encode(text) + [256]
            var ids = try T5Inference(model: checkpoint.t5(batch: 1, source: source.count, target: 1), capacity: 9).greedy(source: source, maxNewTokens: 9)
            if ids.last == 256 { ids.removeLast() }
            return ids
        }
        func predicted(_ text: String, prefix: String? = nil) throws -> [Int32] {
            let predictor = TextPredictor(checkpoint: checkpoint)
            predictor.maxNewTokens = 9
            predictor.prefix = prefix
            let (_, ids) = try firstOutput(predictor.predict(text, task: .translation, topK: 1))
            return ids
        }
        XCTAssertNotEqual(try greedy("tr: hello"), try greedy("hello"), "the prefix changes this model's output")
        XCTAssertEqual(try predicted("hello"), try greedy("tr: hello"))
        XCTAssertEqual(try predicted("tr: hello"), try greedy("tr: hello"), "not added twice")
        XCTAssertEqual(try predicted("hello", prefix: ""), try greedy("hello"))
        XCTAssertEqual(try predicted("hello", prefix: "xx "), try greedy("xx hello"))
    }
}

