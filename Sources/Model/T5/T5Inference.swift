import Foundation
import Kernels
import Support

/// Incremental T5 decoding of one source: the encoder runs once, each decoder layer's cross-attention
/// keys and values are computed once from its output, and the decoder's self-attention keys and values
/// are cached, so each new token costs one position's work.
///
/// Shapes: C width, D = NH·hs, F feed-forward width, V vocabulary, S source length (≤ the model's
/// maxSource), P = `cache.capacity` decoder positions, Ld decoder layers, R = `rows` decoder rows (the
/// beams of a beam search) advanced together over the same source: their linear layers run as one
/// (R, ·) matmul, their cross-attention as R queries against the one cross K/V, their self-attention
/// each against its own cache rows (`reorder` follows the surviving beams). Reads the `T5`'s flat
/// parameter buffer (no copy) and reuses the training kernels (`Attention` with Tq = 1 against the
/// cached Tk positions, the position bias row of the new query), so the logits equal a full forward's
/// at every position up to float rounding. Dropout is never applied. Buffers are allocated once.
public final class T5Inference: Seq2SeqDecoder {
    /// The model whose weights and encoder are used.
    public let model: T5
    /// The decoder's self-attention keys and values, (P, D) per layer.
    public var cache: KVCache { state.cache }
    private let state: EncoderDecoderCache
    private let work: FlatBuffer
    private let x, h, qkv, y, proj, q, fch, lin, act, rstd, scores, bias, lastLogits: UnsafeMutablePointer<Float>
    private let token: UnsafeMutablePointer<Int32>
    /// Decoder rows advanced together (beams).
    public let rows: Int

    /// Inference with `model` for up to `capacity` decoder positions of `rows` rows (beams).
    public init(model: T5, capacity: Int, rows: Int = 1) throws {
        precondition(capacity >= 1 && rows >= 1, "T5 inference needs room for at least one position of one row")
        self.model = model
        self.rows = rows
        let c = model.config, C = c.dModel, D = c.attentionWidth, F = c.dFF, NH = c.numHeads, S = model.acts.S, R = rows
        state = try EncoderDecoderCache(layers: c.numDecoderLayers, width: D, maxSource: S, capacity: capacity, rows: R)
        let sizes = [R * C, R * C, R * 3 * D, R * D, R * C, R * D, R * F, R * F, R * F, R, NH * max(capacity, R * S), NH * capacity, R * c.vocabSize]
        work = try FlatBuffer(count: sizes.reduce(0) { $0 + (($1 + 15) & ~15) })
        var pointers: [UnsafeMutablePointer<Float>] = [], offset = 0
        for s in sizes { pointers.append(work.pointer + offset); offset += (s + 15) & ~15 }
        (x, h, qkv, y, proj, q, fch) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4], pointers[5], pointers[6])
        (lin, act, rstd, scores, bias, lastLogits) = (pointers[7], pointers[8], pointers[9], pointers[10], pointers[11], pointers[12])
        token = .allocate(capacity: R)
        token.initialize(repeating: 0, count: R)
    }

    deinit { token.deallocate() }

    /// The (V) logits of `row` after the last tokens appended.
    public func logits(row: Int) -> UnsafeBufferPointer<Float> {
        let V = model.config.vocabSize
        return UnsafeBufferPointer(start: lastLogits + row * V, count: V)
    }

    public var vocabularySize: Int { model.config.vocabSize }
    public var eosTokenId: Int32 { model.config.eosTokenId }
    public var decoderStartTokenId: Int32 { model.config.decoderStartTokenId }

    /// Encodes `source` (no padding) and empties the decoder cache: a new sequence starts.
    public func start(source: [Int32]) throws {
        let c = model.config, D = c.attentionWidth, table = model.layout.decoderBlockTable
        try state.start(source: source, model: model) { l, kv, S in
            Linear.forwardTransposed(out: kv, inp: model.acts.pointer(.encoderOut), weight: weights(l, table[.crossKVWeight]!),
                                     N: S, IC: c.dModel, OC: 2 * D)
        }
    }

    @inline(__always) private func weights(_ l: Int, _ offset: Int) -> UnsafeMutablePointer<Float> {
        model.params.pointer + model.layout.decoderBlockStart(l) + offset
    }

    /// Runs decoder input `ids[r]` at the next position of row r, for the first `ids.count` rows (≤
    /// `rows`), against the cache and the encoded source; leaves each row's next-token logits in
    /// `logits(row:)`. Throws for an id outside the vocabulary or a full cache.
    public func append(rows ids: UnsafeBufferPointer<Int32>) throws {
        let c = model.config, C = c.dModel, D = c.attentionWidth, F = c.dFF, NH = c.numHeads, V = c.vocabSize, R = ids.count
        let position = try state.nextPosition(), S = state.sourceLength, table = model.layout.decoderBlockTable, p = model.params.pointer
        precondition(R >= 1 && R <= rows, "\(R) rows for a decoder set up for \(rows)")
        for id in ids where id < 0 || Int(id) >= V { throw ModelError("decoder input id \(id) is outside model.vocab_size \(V)") }
        token.update(from: ids.baseAddress!, count: R)
        Embedding.lookup(out: x, tokens: token, wte: p + model.layout.shared, N: R, C: C)
        RelativePositionBias.forward(bias: bias, table: p + model.layout.decoderRelativeBias, NH: NH, Tq: 1, Tk: position + 1,
                                     queryStart: position, bidirectional: false, numBuckets: c.relativeAttentionNumBuckets,
                                     maxDistance: c.relativeAttentionMaxDistance)
        func linear(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, _ l: Int, _ role: BlockRole, _ IC: Int, _ OC: Int) {
            Linear.forwardTransposed(out: out, inp: inp, weight: weights(l, table[role]!), N: R, IC: IC, OC: OC)
        }
        func norm(_ l: Int, _ role: BlockRole) {
            RMSNorm.forward(out: h, rstd: rstd, inp: x, weight: weights(l, table[role]!), N: R, C: C, eps: c.layerNormEps)
        }
        for l in 0..<c.numDecoderLayers {
            norm(l, .norm1Weight)
            linear(qkv, h, l, .qkvWeight, C, 3 * D)
            for r in 0..<R {
                let keys = cache.keys(l, row: r), values = cache.values(l, row: r), row = qkv + r * 3 * D
                (keys + position * D).update(from: row + D, count: D)
                (values + position * D).update(from: row + 2 * D, count: D)
                Attention.forward(out: y + r * D, att: scores, q: row, ldq: 3 * D, k: keys, ldk: D, v: values, ldv: D, B: 1, Tq: 1,
                                  Tk: position + 1, NH: NH, hs: c.dKV, scale: 1, causal: true, bias: bias)
            }
            linear(proj, y, l, .attnOutWeight, D, C)
            Residual.forward(out: x, a: x, b: proj, count: R * C)
            norm(l, .crossNormWeight)
            linear(q, h, l, .crossQWeight, C, D)
            // Every row reads the same source: its R queries attend to the one cross K/V together.
            let kv = state.crossKeysValues(l)
            Attention.forward(out: y, att: scores, q: q, ldq: D, k: kv, ldk: 2 * D, v: kv + D, ldv: 2 * D, B: 1, Tq: R, Tk: S,
                              NH: NH, hs: c.dKV, scale: 1, causal: false)
            linear(proj, y, l, .crossOutWeight, D, C)
            Residual.forward(out: x, a: x, b: proj, count: R * C)
            norm(l, .norm2Weight)
            linear(fch, h, l, .ffnInWeight, C, F)
            switch c.feedForward {
            case .relu: ReLU.forward(out: act, inp: fch, count: R * F)
            case .gatedGELU:
                linear(lin, h, l, .ffnLinearWeight, C, F)
                GatedGELU.forward(out: act, gate: fch, linear: lin, count: R * F, kind: .tanh)
            }
            linear(proj, act, l, .ffnOutWeight, F, C)
            Residual.forward(out: x, a: x, b: proj, count: R * C)
        }
        RMSNorm.forward(out: h, rstd: rstd, inp: x, weight: p + model.layout.decoderFinalNorm, N: R, C: C, eps: c.layerNormEps)
        if c.tieWordEmbeddings { VectorMath.scale(h, count: R * C, by: model.headScale) }
        Linear.forwardTransposed(out: lastLogits, inp: h, weight: p + model.layout.headWeight, N: R, IC: C, OC: V)
        cache.count = position + 1
    }
}
