import Foundation
import Kernels
import Support

/// Incremental decoding with the paper's Transformer for one sequence: the encoder runs once, each
/// decoder layer's cross-attention keys and values are computed once from its output, and the decoder's
/// self-attention keys and values are cached, so each new token costs one position's work.
///
/// Shapes: C width, F feed-forward width, V vocabulary, NH heads, S source length (≤ the model's
/// maxSource), P = `cache.capacity` decoder positions, Ld decoder layers. Reads the model's flat
/// parameter buffer (no copy) and reuses the training kernels (`Attention` with Tq = 1 against the
/// cached positions), post-LN as nn.TransformerDecoderLayer: x = norm(x + f(x)) per sublayer, then the
/// decoder's final norm and the tied projection. The logits equal a full forward's at every position up
/// to float rounding. Dropout is never applied. Buffers are allocated once.
public final class TransformerInference {
    /// The model whose weights and encoder are used.
    public let model: TransformerModel
    /// The decoder's self-attention keys and values, (P, C) per layer.
    public var cache: KVCache { state.cache }
    private let state: EncoderDecoderCache
    /// One position's vectors, the attention scores, the position table's P rows and the logits.
    private enum Work: Int, CaseIterable { case x, h, qkv, y, proj, fch, act, stats, scores, positions, logits }
    private let work: RegionBuffer<Work>
    private let x, h, qkv, y, proj, fch, act, stats, scores, positions, lastLogits: UnsafeMutablePointer<Float>

    /// Inference with `model` for up to `capacity` decoder positions (at most model.max_seq_len).
    public init(model: TransformerModel, capacity: Int) throws {
        let c = model.config, C = c.dModel, F = c.dimFeedforward, S = model.acts.S
        guard capacity >= 1, capacity <= c.maxPositions else {
            throw ModelError("\(capacity) decoder positions do not fit the \(c.maxPositions) positions of model.max_seq_len; ask for fewer new tokens")
        }
        self.model = model
        state = try EncoderDecoderCache(layers: c.numDecoderLayers, width: C, maxSource: S, capacity: capacity)
        work = try RegionBuffer { region in
            switch region {
            case .x, .h, .y, .proj: C
            case .qkv: 3 * C
            case .fch, .act: F
            case .stats: 2
            case .scores: c.numHeads * max(capacity, S)
            case .positions: capacity * C
            case .logits: c.vocabSize
            }
        }
        (x, h, qkv, y, proj, fch) = (work.pointer(.x), work.pointer(.h), work.pointer(.qkv), work.pointer(.y), work.pointer(.proj), work.pointer(.fch))
        (act, stats, scores, positions, lastLogits) = (work.pointer(.act), work.pointer(.stats), work.pointer(.scores), work.pointer(.positions),
                                                       work.pointer(.logits))
        Embedding.sinusoidalTable(into: positions, P: capacity, C: C)
    }

    /// The (V) logits after the last token appended.
    public var logits: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: lastLogits, count: model.config.vocabSize) }

    /// Encodes `source` (no padding) and empties the decoder cache: a new sequence starts.
    public func start(source: [Int32]) throws {
        let C = model.config.dModel, table = model.layout.decoderBlockTable
        try state.start(source: source, model: model) { l, kv, S in
            Linear.forwardTransposed(out: kv, inp: model.acts.pointer(.encoderOut), weight: weights(l, table[.crossKVWeight]!),
                                     bias: weights(l, table[.crossKVBias]!), N: S, IC: C, OC: 2 * C)
        }
    }

    @inline(__always) private func weights(_ l: Int, _ offset: Int) -> UnsafeMutablePointer<Float> {
        model.params.pointer + model.layout.decoderLayerStart(l) + offset
    }

    /// Runs decoder input `id` at the next position against the cache and the encoded source; leaves
    /// the next token's logits in `logits`. Throws for an id outside the vocabulary or a full cache.
    @discardableResult
    public func append(_ id: Int32) throws -> UnsafeBufferPointer<Float> {
        let c = model.config, C = c.dModel, F = c.dimFeedforward, NH = c.numHeads, V = c.vocabSize, hs = C / NH
        let position = try state.nextPosition(), S = state.sourceLength, table = model.layout.decoderBlockTable, p = model.params.pointer
        guard id >= 0, Int(id) < V else { throw ModelError("decoder input id \(id) is outside model.vocab_size \(V)") }
        withUnsafePointer(to: id) { Embedding.lookup(out: x, tokens: $0, wte: p + model.layout.embedding, N: 1, C: C) }
        let scale = model.embeddingScale, pe = positions + position * C
        for i in 0..<C { x[i] = x[i] * scale + pe[i] }
        func linear(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ l: Int, _ weight: BlockRole, _ bias: BlockRole, _ IC: Int, _ OC: Int) {
            Linear.forwardTransposed(out: out, inp: inp, weight: weights(l, table[weight]!), bias: weights(l, table[bias]!), N: 1, IC: IC, OC: OC)
        }
        /// x = norm(x + proj), post-LN.
        func addNorm(_ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>) {
            Residual.forward(out: h, a: x, b: proj, count: C)
            LayerNorm.forward(out: x, mean: stats, rstd: stats + 1, inp: h, weight: weight, bias: bias, N: 1, C: C, eps: c.layerNormEps)
        }
        for l in 0..<c.numDecoderLayers {
            linear(qkv, x, l, .qkvWeight, .qkvBias, C, 3 * C)
            let keys = cache.keys(l), values = cache.values(l)
            (keys + position * C).update(from: qkv + C, count: C)
            (values + position * C).update(from: qkv + 2 * C, count: C)
            Attention.forward(out: y, att: scores, q: qkv, ldq: 3 * C, k: keys, ldk: C, v: values, ldv: C, B: 1, Tq: 1, Tk: position + 1,
                              NH: NH, hs: hs, causal: true)
            linear(proj, y, l, .attnOutWeight, .attnOutBias, C, C)
            addNorm(weights(l, table[.norm1Weight]!), weights(l, table[.norm1Bias]!))
            linear(qkv, x, l, .crossQWeight, .crossQBias, C, C)
            let kv = state.crossKeysValues(l)
            Attention.forward(out: y, att: scores, q: qkv, ldq: C, k: kv, ldk: 2 * C, v: kv + C, ldv: 2 * C, B: 1, Tq: 1, Tk: S,
                              NH: NH, hs: hs, causal: false)
            linear(proj, y, l, .crossOutWeight, .crossOutBias, C, C)
            addNorm(weights(l, table[.crossNormWeight]!), weights(l, table[.crossNormBias]!))
            linear(fch, x, l, .ffnInWeight, .ffnInBias, C, F)
            ReLU.forward(out: act, inp: fch, count: F)
            linear(proj, act, l, .ffnOutWeight, .ffnOutBias, F, C)
            addNorm(weights(l, table[.norm2Weight]!), weights(l, table[.norm2Bias]!))
        }
        let norm = p + model.layout.decoderNorm
        LayerNorm.forward(out: h, mean: stats, rstd: stats + 1, inp: x, weight: norm, bias: norm + C, N: 1, C: C, eps: c.layerNormEps)
        Linear.forwardTransposed(out: lastLogits, inp: h, weight: p + model.layout.embedding, N: 1, IC: C, OC: V)
        cache.count = position + 1
        return logits
    }

    /// Greedy decoding: from EOS (the decoder's start token), the most likely next token (the first on
    /// ties) until EOS or `maxNewTokens`; returns the generated ids (EOS included when reached).
    public func greedy(source: [Int32], maxNewTokens: Int) throws -> [Int32] {
        try start(source: source)
        return try Seq2Seq.greedy(start: model.config.eosTokenId, eos: model.config.eosTokenId, maxNewTokens: maxNewTokens, append: append)
    }
}
