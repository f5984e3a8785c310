import Foundation
import Model
import Support
import XCTest

/// Generation with the paper's Transformer through the encoder-decoders' shared code: the cached
/// decoder with several rows (beams) and reorders gives, row by row, the logits of a full (uncached)
/// forward over each row's tokens so far, and `BeamSearch` (checked against Hugging Face `generate`
/// on T5) over it picks the same outputs as over a slow decoder that reruns the whole model each step.
final class TransformerGenerationTests: XCTestCase {
    let V = 24, M = 6, S = 5

    func model(batch: Int, target: Int) throws -> TransformerModel {
        var c = TransformerConfig()
        (c.vocabSize, c.dModel, c.numHeads, c.numEncoderLayers, c.numDecoderLayers, c.dimFeedforward) = (V, 16, 2, 2, 2, 24)
        (c.padTokenId, c.eosTokenId, c.dropout, c.maxPositions) = (0, 1, 0, 16)
        let model = try TransformerModel(config: c, maxBatch: batch, maxSource: S, maxTarget: target)
        model.initializeWeights(seed: 8)
        // Peakier distributions than the initialisation's: beams whose scores differ by rounding only would
        // make the comparison test float noise rather than the search.
        for i in 0..<model.layout.count { model.params.pointer[i] *= 2 }
        // A larger EOS row (id 1) of the tied embedding, so that beams finish at EOS at different lengths
        // (as make_t5_generate.py does to its lm_head): a plain random model rarely emits EOS.
        for i in 0..<16 { model.params.pointer[model.layout.embedding + 16 + i] *= 5 }
        model.training = false
        return model
    }

    /// A slow reference decoder: each step reruns the model on the source and every row's tokens so far.
    final class FullForwardDecoder: Seq2SeqDecoder {
        let model: TransformerModel
        let rows: Int
        let cache: KVCache   // holds nothing: its capacity bounds the outputs as the real decoder's does
        var histories: [[Int32]] = [], source: [Int32] = [], last: [Float] = []
        var vocabularySize: Int { model.config.vocabSize }
        var eosTokenId: Int32 { model.config.eosTokenId }
        var decoderStartTokenId: Int32 { model.config.eosTokenId }

        init(model: TransformerModel, rows: Int, capacity: Int) throws {
            (self.model, self.rows) = (model, rows)
            cache = try KVCache(layers: 1, channels: 1, capacity: capacity, rows: rows)
        }

        func start(source: [Int32]) throws {
            self.source = source
            histories = Array(repeating: [], count: rows)
        }

        func append(rows ids: UnsafeBufferPointer<Int32>) throws {
            let R = ids.count, T = histories[0].count + 1, V = vocabularySize
            for r in 0..<R { histories[r].append(ids[r]) }
            let sources = Array((0..<R).map { _ in source }.joined()), inputs = Array(histories[0..<R].joined())
            try model.forward(source: sources, sourceMask: nil, decoderInput: inputs, targets: nil, B: R, S: source.count, T: T)
            last = (0..<R).flatMap { r in Array(UnsafeBufferPointer(start: model.logits + (r * T + T - 1) * V, count: V)) }
        }

        func logits(row: Int) -> UnsafeBufferPointer<Float> {
            last.withUnsafeBufferPointer { UnsafeBufferPointer(rebasing: $0[(row * vocabularySize)..<((row + 1) * vocabularySize)]) }
        }

        func reorder(_ sources: UnsafeBufferPointer<Int32>) {
            histories = sources.map { histories[Int($0)] } + histories[sources.count...]
        }
    }

    func testCachedRowsWithReordersEqualFullForwards() throws {
        let R = 3, cached = try TransformerInference(model: model(batch: 1, target: 1), capacity: M, rows: R)
        let slow = try FullForwardDecoder(model: model(batch: R, target: M), rows: R, capacity: M)
        var rng = SplitMix64(seed: 3)
        let source: [Int32] = [5, 9, 2, 7, 1]
        try cached.start(source: source)
        try slow.start(source: source)
        var ids = [Int32](repeating: 1, count: R)
        for step in 0..<M {
            try ids.withUnsafeBufferPointer { try cached.append(rows: $0); try slow.append(rows: $0) }
            for r in 0..<R {
                let a = Array(cached.logits(row: r)), b = Array(slow.logits(row: r))
                let scale = b.map { abs($0) }.max()!
                for v in 0..<V { XCTAssertEqual(a[v], b[v], accuracy: 1e-4 * scale, "step \(step), row \(r), token \(v)") }
            }
            let order: [Int32] = (0..<R).map { _ in Int32(rng.next() % UInt64(R)) }
            order.withUnsafeBufferPointer { cached.reorder($0); slow.reorder($0) }
            ids = (0..<R).map { _ in Int32(2 + rng.next() % UInt64(V - 2)) }
        }
    }

    func testBeamSearchOverTheCachedDecoderEqualsTheSlowDecoder() throws {
        let cachedModel = try model(batch: 1, target: 1), slowModel = try model(batch: 4, target: M)
        var rng = SplitMix64(seed: 11)
        var endedEarly = 0
        for (beams, penalty, stopping) in [(2, 1.0, "false"), (3, 0.5, "true"), (4, 2.0, "never"), (3, -1.0, "false")] {
            let settings = try GenerationSettings(maxNewTokens: M, numBeams: beams, lengthPenalty: penalty, earlyStopping: stopping,
                                                  temperature: nil, topK: nil, topP: nil, seed: 0)
            for _ in 0..<3 {
                let source = (0..<(2 + Int(rng.next() % 3))).map { _ in Int32(2 + rng.next() % UInt64(V - 2)) } + [1]
                let fast = try BeamSearch(inference: TransformerInference(model: cachedModel, capacity: M, rows: beams), settings: settings).run(source: source)
                let slow = try BeamSearch(inference: FullForwardDecoder(model: slowModel, rows: beams, capacity: M), settings: settings).run(source: source)
                XCTAssertEqual(fast.ids, slow.ids, "\(beams) beams, penalty \(penalty), early stopping \(stopping), source \(source)")
                // A score sums up to M log-probabilities, each within float rounding (~1e-4) of the slow one.
                XCTAssertEqual(fast.score, slow.score, accuracy: 1e-4 * Float(M))
                if fast.ids.last == 1 && fast.ids.count < M { endedEarly += 1 }
                // The one-row greedy path of the same decoder agrees with the slow decoder's too.
                let greedy = try TransformerInference(model: cachedModel, capacity: M).greedy(source: source, maxNewTokens: M)
                XCTAssertEqual(greedy, try FullForwardDecoder(model: slowModel, rows: 1, capacity: M).greedy(source: source, maxNewTokens: M))
            }
        }
        XCTAssertGreaterThan(endedEarly, 0, "some hypotheses end at EOS before the limit (the finished-hypothesis path ran)")
    }
}
