import Foundation
import Model
import XCTest

/// T5 generation with Hugging Face `generate`'s semantics, on the small random model of
/// Fixtures/t5-hf-generate (made by make_t5_generate.py, read with the Hugging Face import): greedy and
/// beam search (beams, length penalty, early stopping, new-token limits) give HF's tokens, the batched
/// beams with reordered caches give a full forward's logits, and sampling is seeded.
final class T5GenerationTests: XCTestCase {
    struct Case: Decodable {
        let source: [Int32], generated: [Int32], max_new_tokens: Int, num_beams: Int, length_penalty: Double, early_stopping: String
    }

    static func model(maxSource: Int = 16, maxTarget: Int = 1) throws -> T5 {
        let dir = try HuggingFaceT5Tests.directory("t5-hf-generate")
        let model = try T5(config: try T5.huggingFaceConfig(directory: dir), maxBatch: 1, maxSource: maxSource, maxTarget: maxTarget)
        try model.importHuggingFace(from: dir)
        model.training = false
        return model
    }

    static func json(_ name: String) throws -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else {
            throw ModelError("Fixtures/\(name).json missing from the test bundle")
        }
        return try Data(contentsOf: url)
    }

    func testGreedyAndBeamSearchEqualHuggingFaceGenerate() throws {
        struct File: Decodable { let cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: try Self.json("t5-generate")).cases
        XCTAssertEqual(cases.count, 60)
        let model = try Self.model()
        var inferences: [Int: T5Inference] = [:]
        for (n, c) in cases.enumerated() {
            var settings = GenerationSettings()
            settings.maxNewTokens = c.max_new_tokens
            settings.numBeams = c.num_beams
            settings.lengthPenalty = c.length_penalty
            settings.earlyStopping = try XCTUnwrap(GenerationSettings.EarlyStopping(rawValue: c.early_stopping))
            let inference = try inferences[c.num_beams] ?? T5Inference(model: model, capacity: 10, rows: c.num_beams)
            inferences[c.num_beams] = inference
            XCTAssertEqual(try inference.generate(source: c.source, settings: settings), c.generated,
                           "case \(n): \(c.num_beams) beams, penalty \(c.length_penalty), early stopping \(c.early_stopping), \(c.max_new_tokens) new")
        }
        // The fixture exercises what it claims: beams change outputs, and hypotheses end at EOS early.
        XCTAssertGreaterThan(Set(cases.map(\.generated)).count, 20)
        XCTAssertGreaterThan(cases.filter { $0.generated.count > 1 && $0.generated.count < $0.max_new_tokens && $0.generated.last == 1 }.count, 5)
    }

    /// `num_return_sequences` with beams (make_t5_generate_returns.py): the returned hypotheses, best
    /// first, are HF's token for token, with its `sequences_scores`; through `generateSequences` too.
    func testReturnedBeamsEqualHuggingFaceGenerate() throws {
        struct Returns: Decodable {
            let source: [Int32], max_new_tokens: Int, num_beams: Int, num_return_sequences: Int, length_penalty: Double
            let early_stopping: String, sequences: [[Int32]], scores: [Float]
        }
        struct File: Decodable { let cases: [Returns] }
        let cases = try JSONDecoder().decode(File.self, from: try Self.json("t5-generate-returns")).cases
        XCTAssertEqual(cases.count, 20)
        let model = try Self.model()
        for (n, c) in cases.enumerated() {
            var settings = GenerationSettings()
            (settings.maxNewTokens, settings.numBeams, settings.lengthPenalty) = (c.max_new_tokens, c.num_beams, c.length_penalty)
            settings.earlyStopping = try XCTUnwrap(GenerationSettings.EarlyStopping(rawValue: c.early_stopping))
            settings.numReturnSequences = c.num_return_sequences
            let inference = try T5Inference(model: model, capacity: 10, rows: c.num_beams)
            let found = try BeamSearch(inference: inference, settings: settings).run(source: c.source, returning: c.num_return_sequences)
            XCTAssertEqual(found.map(\.ids), c.sequences, "case \(n): \(c.num_beams) beams, \(c.num_return_sequences) returned")
            for (ours, theirs) in zip(found.map(\.score), c.scores) {
                XCTAssertEqual(Double(ours), Double(theirs), accuracy: 1e-4 * max(1, abs(Double(theirs))), "case \(n) score")
            }
            var sampler: TokenSampler?
            XCTAssertEqual(try inference.generateSequences(source: c.source, settings: settings, sampler: &sampler), c.sequences, "case \(n)")
        }
        XCTAssertGreaterThan(cases.filter { Set($0.sequences).count == $0.sequences.count && $0.sequences.count > 1 }.count, 10,
                             "the returned beams differ from each other")
    }

    /// Three rows decoded side by side, reordered after some steps (one row copied into two), give at
    /// every step the logits of a full forward over each row's own decoder inputs.
    func testBatchedRowsWithReorderingEqualFullForward() throws {
        let source: [Int32] = [5, 9, 30, 2, 17, 1]
        let full = try Self.model(maxTarget: 6)
        let inference = try T5Inference(model: try Self.model(), capacity: 6, rows: 3)
        try inference.start(source: source)
        var sequences: [[Int32]] = [[0], [0], [0]]
        let steps: [(inputs: [Int32], reorder: [Int32])] = [([0, 0, 0], [0, 1, 2]), ([7, 3, 1], [2, 0, 0]), ([12, 12, 4], [1, 1, 2]),
                                                           ([6, 20, 31], [0, 2, 1]), ([9, 9, 9], [0, 1, 2])]
        let V = full.config.vocabSize
        for (t, step) in steps.enumerated() {
            if t > 0 { for r in 0..<3 { sequences[r].append(step.inputs[r]) } }
            try step.inputs.withUnsafeBufferPointer { try inference.append(rows: $0) }
            for r in 0..<3 {
                let decoder = sequences[r]
                try full.forward(source: source, sourceMask: nil, decoderInput: decoder, targets: nil, B: 1, S: source.count, T: decoder.count)
                let expected = Array(UnsafeBufferPointer(start: full.logits + (decoder.count - 1) * V, count: V))
                let got = Array(inference.logits(row: r))
                XCTAssertLessThanOrEqual(got.withUnsafeBufferPointer { relativeError($0.baseAddress!, expected) }, 1e-5, "step \(t), row \(r)")
            }
            step.reorder.withUnsafeBufferPointer { inference.reorder($0) }
            sequences = step.reorder.map { sequences[Int($0)] }
        }
    }

    /// Sampling on the model: the same seed gives the same tokens, another seed other tokens, and
    /// temperature 0 is greedy.
    func testSamplingIsSeeded() throws {
        let model = try Self.model()
        let inference = try T5Inference(model: model, capacity: 10)
        let source: [Int32] = [5, 9, 30, 2, 17, 1]
        var settings = try GenerationSettings(maxNewTokens: 10, numBeams: 1, lengthPenalty: 1, earlyStopping: "false",
                                              temperature: 1.5, topK: nil, topP: 0.95, seed: 11)
        XCTAssertTrue(settings.doSample)
        let first = try inference.generate(source: source, settings: settings)
        XCTAssertEqual(try inference.generate(source: source, settings: settings), first)
        var others: Set<[Int32]> = []
        for seed in 12..<17 {
            settings.seed = UInt64(seed)
            others.insert(try inference.generate(source: source, settings: settings))
        }
        XCTAssertFalse(others.subtracting([first]).isEmpty, "other seeds draw other tokens: \(first) \(others)")
        let greedy = try GenerationSettings(maxNewTokens: 10, numBeams: 1, lengthPenalty: 1, earlyStopping: "false",
                                            temperature: 0, topK: nil, topP: nil, seed: 11)
        XCTAssertFalse(greedy.doSample)
        XCTAssertEqual(try inference.generate(source: source, settings: greedy), try inference.greedy(source: source, maxNewTokens: 10))

        // num_return_sequences 3: three samples drawn one after another from the seed's one stream.
        settings.seed = 11
        settings.numReturnSequences = 3
        var many: TokenSampler?, one: TokenSampler?
        let three = try inference.generateSequences(source: source, settings: settings, sampler: &many)
        settings.numReturnSequences = 1
        XCTAssertEqual(three, try (0..<3).map { _ in try inference.generate(source: source, settings: settings, sampler: &one) })
        XCTAssertEqual(three[0], first)
        XCTAssertGreaterThan(Set(three).count, 1, "the samples differ: \(three)")
    }

    func testBadSettingsAreOneLine() throws {
        let inference = try T5Inference(model: try Self.model(), capacity: 10, rows: 2)
        func message(_ change: (inout GenerationSettings) -> Void) -> String {
            var settings = GenerationSettings()
            settings.maxNewTokens = 10
            change(&settings)
            do { _ = try inference.generate(source: [3, 1], settings: settings); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { $0.numBeams = 0 }, "--num-beams 0 must be at least 1 (1 = no beam search)")
        XCTAssertEqual(message { $0.numBeams = 3 }, "--num-beams 3 needs a decoder set up for 3 rows; it has 2")
        XCTAssertEqual(message { $0.numBeams = 17 }, "--num-beams 17 needs a vocabulary of at least 34 tokens; the model has 32")
        XCTAssertEqual(message { $0.maxNewTokens = 0 }, "--max-new-tokens 0 must be at least 1")
        XCTAssertEqual(message { $0.numBeams = 2; $0.maxNewTokens = 11 }, "--max-new-tokens 11 exceeds the 10 positions this decoder was set up for")
        XCTAssertTrue(message { $0.numBeams = 2; $0.doSample = true }.hasPrefix("beam sampling (--num-beams 2 with"))
        XCTAssertEqual(message { $0.numReturnSequences = 0 }, "--num-return-sequences 0 must be at least 1")
        XCTAssertEqual(message { $0.numBeams = 2; $0.numReturnSequences = 3 },
                       "--num-return-sequences 3 is more than the 2 beams kept; use at most --num-beams, or more beams")
        XCTAssertEqual(message { $0.numReturnSequences = 2 },
                       "--num-return-sequences 2 needs --num-beams 2 or more, or sampling (--temperature, --top-k, --top-p): greedy decoding has one output")
        XCTAssertEqual(message { $0.doSample = true; $0.topP = 1.5 }, "--top-p 1.5 must be in [0, 1] (1 = no top-p)")
        XCTAssertEqual(message { $0.doSample = true; $0.topK = 33 },
                       "--top-k 33 is larger than the model's vocabulary of 32 tokens; use at most 32, or 0 for no top-k")
        XCTAssertThrowsError(try GenerationSettings(maxNewTokens: 1, numBeams: 1, lengthPenalty: 1, earlyStopping: "maybe",
                                                    temperature: nil, topK: nil, topP: nil, seed: 0)) {
            XCTAssertEqual("\($0)", "--early-stopping maybe is not a choice; use true, false or never")
        }
    }
}
