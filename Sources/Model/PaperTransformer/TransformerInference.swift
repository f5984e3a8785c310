import Foundation
import Kernels
import Support

/// Incremental decoding with the paper's Transformer for one source: the encoder runs once, each
/// decoder layer's cross-attention keys and values are computed once from its output, and the decoder's
/// self-attention keys and values are cached, so each new token costs one position's work.
///
/// Shapes: C width, F feed-forward width, V vocabulary, NH heads, S source length (≤ the model's
/// maxSource), P = `cache.capacity` decoder positions, Ld decoder layers, R = `rows` decoder rows (the
/// beams of a beam search) advanced together over the same source: their linear layers run as one
/// (R, ·) matmul, their cross-attention as R queries against the one cross K/V, their self-attention
/// each against its own cache rows (`reorder` follows the surviving beams). Reads the model's flat
/// parameter buffer (no copy) and reuses the training kernels (`Attention` with Tq = 1 against the
/// cached positions), post-LN as nn.TransformerDecoderLayer: x = norm(x + f(x)) per sublayer, then the
/// decoder's final norm and the tied projection. The decoder starts from EOS (as the training data's
/// decoder inputs do). The logits equal a full forward's at every position up to float rounding.
/// Dropout is never applied. Buffers are allocated once.
public final class TransformerInference: Seq2SeqDecoder {
    /// The model whose weights and encoder are used.
    public let model: TransformerModel
    /// The decoder's self-attention keys and values, (P, C) per layer and row.
    public var cache: KVCache { state.cache }
    /// Decoder rows advanced together (beams).
    public let rows: Int
    private let state: EncoderDecoderCache
    /// The rows' vectors, the attention scores, the position table's P rows and the logits.
    private enum Work: Int, CaseIterable { case x, h, qkv, y, proj, fch, act, stats, scores, positions, logits }
    private let work: RegionBuffer<Work>
    private let x, h, qkv, y, proj, fch, act, stats, scores, positions, lastLogits: UnsafeMutablePointer<Float>

    /// Inference with `model` for up to `capacity` decoder positions (at most model.max_seq_len) of
    /// `rows` rows (beams).
    public init(model: TransformerModel, capacity: Int, rows: Int = 1) throws {
        let c = model.config, C = c.dModel, F = c.dimFeedforward, S = model.acts.S, R = rows
        guard capacity >= 1, capacity <= c.maxPositions else {
            throw ModelError("\(capacity) decoder positions do not fit the \(c.maxPositions) positions of model.max_seq_len; ask for fewer new tokens")
        }
        precondition(rows >= 1, "Transformer inference needs at least one row")
        self.model = model
        self.rows = rows
        state = try EncoderDecoderCache(layers: c.numDecoderLayers, width: C, maxSource: S, capacity: capacity, rows: R)
        work = try RegionBuffer { region in
            switch region {
            case .x, .h, .y, .proj: R * C
            case .qkv: R * 3 * C
            case .fch, .act: R * F
            case .stats: 2 * R
            case .scores: c.numHeads * max(capacity, R * S)
            case .positions: capacity * C
            case .logits: R * c.vocabSize
            }
        }
        (x, h, qkv, y, proj, fch) = (work.pointer(.x), work.pointer(.h), work.pointer(.qkv), work.pointer(.y), work.pointer(.proj), work.pointer(.fch))
        (act, stats, scores, positions, lastLogits) = (work.pointer(.act), work.pointer(.stats), work.pointer(.scores), work.pointer(.positions),
                                                       work.pointer(.logits))
        Embedding.sinusoidalTable(into: positions, P: capacity, C: C)
    }

    public var vocabularySize: Int { model.config.vocabSize }
    public var eosTokenId: Int32 { model.config.eosTokenId }
    /// EOS: the training data's decoder inputs start with it (`shiftRight`).
    public var decoderStartTokenId: Int32 { model.config.eosTokenId }

    /// The (V) logits of `row` after the last tokens appended.
    public func logits(row: Int) -> UnsafeBufferPointer<Float> {
        let V = model.config.vocabSize
        return UnsafeBufferPointer(start: lastLogits + row * V, count: V)
    }

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

    /// Runs decoder input `ids[r]` at the next position of row r, for the first `ids.count` rows (≤
    /// `rows`), against the cache and the encoded source; leaves each row's next-token logits in
    /// `logits(row:)`. Throws for an id outside the vocabulary or a full cache.
    public func append(rows ids: UnsafeBufferPointer<Int32>) throws {
        let c = model.config, C = c.dModel, F = c.dimFeedforward, NH = c.numHeads, V = c.vocabSize, hs = C / NH, R = ids.count
        let position = try state.nextPosition(), S = state.sourceLength, table = model.layout.decoderBlockTable, p = model.params.pointer
        precondition(R >= 1 && R <= rows, "\(R) rows for a decoder set up for \(rows)")
        for id in ids where id < 0 || Int(id) >= V { throw ModelError("decoder input id \(id) is outside model.vocab_size \(V)") }
        Embedding.lookup(out: x, tokens: ids.baseAddress!, wte: p + model.layout.embedding, N: R, C: C)
        let scale = model.embeddingScale, pe = positions + position * C
        for r in 0..<R { for i in 0..<C { x[r * C + i] = x[r * C + i] * scale + pe[i] } }
        func linear(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ l: Int, _ weight: BlockRole, _ bias: BlockRole, _ IC: Int, _ OC: Int) {
            Linear.forwardTransposed(out: out, inp: inp, weight: weights(l, table[weight]!), bias: weights(l, table[bias]!), N: R, IC: IC, OC: OC)
        }
        /// x = norm(x + proj), post-LN, for every row.
        func addNorm(_ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>) {
            Residual.forward(out: h, a: x, b: proj, count: R * C)
            LayerNorm.forward(out: x, mean: stats, rstd: stats + R, inp: h, weight: weight, bias: bias, N: R, C: C, eps: c.layerNormEps)
        }
        for l in 0..<c.numDecoderLayers {
            linear(qkv, x, l, .qkvWeight, .qkvBias, C, 3 * C)
            for r in 0..<R {
                let keys = cache.keys(l, row: r), values = cache.values(l, row: r), row = qkv + r * 3 * C
                (keys + position * C).update(from: row + C, count: C)
                (values + position * C).update(from: row + 2 * C, count: C)
                Attention.forward(out: y + r * C, att: scores, q: row, ldq: 3 * C, k: keys, ldk: C, v: values, ldv: C, B: 1, Tq: 1,
                                  Tk: position + 1, NH: NH, hs: hs, causal: true)
            }
            linear(proj, y, l, .attnOutWeight, .attnOutBias, C, C)
            addNorm(weights(l, table[.norm1Weight]!), weights(l, table[.norm1Bias]!))
            linear(qkv, x, l, .crossQWeight, .crossQBias, C, C)
            // Every row reads the same source: its R queries attend to the one cross K/V together.
            let kv = state.crossKeysValues(l)
            Attention.forward(out: y, att: scores, q: qkv, ldq: C, k: kv, ldk: 2 * C, v: kv + C, ldv: 2 * C, B: 1, Tq: R, Tk: S,
                              NH: NH, hs: hs, causal: false)
            linear(proj, y, l, .crossOutWeight, .crossOutBias, C, C)
            addNorm(weights(l, table[.crossNormWeight]!), weights(l, table[.crossNormBias]!))
            linear(fch, x, l, .ffnInWeight, .ffnInBias, C, F)
            ReLU.forward(out: act, inp: fch, count: R * F)
            linear(proj, act, l, .ffnOutWeight, .ffnOutBias, F, C)
            addNorm(weights(l, table[.norm2Weight]!), weights(l, table[.norm2Bias]!))
        }
        let norm = p + model.layout.decoderNorm
        LayerNorm.forward(out: h, mean: stats, rstd: stats + R, inp: x, weight: norm, bias: norm + C, N: R, C: C, eps: c.layerNormEps)
        Linear.forwardTransposed(out: lastLogits, inp: h, weight: p + model.layout.embedding, N: R, IC: C, OC: V)
        cache.count = position + 1
    }
}
