import Foundation
import Kernels
import Support

/// Incremental GPT inference for one sequence, with a key/value cache: each new token costs one
/// position's work (its projections, and attention against the cached keys), not the whole sequence
/// again.
///
/// Shapes: C channels, NH heads, hs = C/NH, V vocab, P = `cache.capacity` positions, n new tokens
/// per `append` (n ≤ P − cache.count). Reads the weights of a `GPT`'s flat parameter buffer (same
/// `GPTLayout`, no copy) and reuses the training kernels (LayerNorm, Linear, GELU, Embedding, and
/// `Attention` with Tq = the new rows and Tk = the cached positions, reading the cache in place), so
/// the logits equal a full forward's at every position up to float rounding. Dropout is never applied
/// (inference). Buffers are allocated once, for P positions.
public final class GPTInference {
    /// The model's shape.
    public let config: GPTConfig
    /// The keys and values seen so far.
    public let cache: KVCache
    private let layout: GPTLayout
    private let params: FlatBuffer
    private let positionTable: FlatBuffer?
    /// Scratch for up to P new positions: residual, LayerNorm output, qkv, attention output, MLP.
    private let work: FlatBuffer
    private let x, ln, qkv, atty, proj, fch, fchGelu, stats, scores, lastLogits: UnsafeMutablePointer<Float>
    private let ids: UnsafeMutablePointer<Int32>

    /// Inference over `params` (laid out by `GPTLayout(config:)`) for sequences up to `capacity`
    /// positions (default and maximum: model.max_seq_len). Throws for a model that is not causal.
    public init(config: GPTConfig, params: FlatBuffer, capacity: Int? = nil) throws {
        try config.validate()
        guard config.causal else {
            throw ModelError("model.causal is false: a bidirectional model cannot generate left to right; generate with a causal (GPT) checkpoint")
        }
        let P = capacity ?? config.maxSeqLen
        guard P >= 1, P <= config.maxSeqLen else {
            throw ModelError("inference capacity \(P) must be between 1 and model.max_seq_len \(config.maxSeqLen)")
        }
        let layout = GPTLayout(config: config)
        precondition(params.count >= layout.count, "parameter buffer smaller than the model's layout")
        self.config = config
        self.layout = layout
        self.params = params
        let C = config.dModel, NH = config.nHead, V = config.vocabSize
        cache = try KVCache(layers: config.nLayer, channels: C, capacity: P)
        if config.positions == .sinusoidal {
            let table = try FlatBuffer(count: config.maxSeqLen * C)
            Embedding.sinusoidalTable(into: table.pointer, P: config.maxSeqLen, C: C)
            positionTable = table
        } else {
            positionTable = nil
        }
        let sizes = [P * C, P * C, P * 3 * C, P * C, P * C, P * 4 * C, P * 4 * C, 2 * P, NH * min(P, Self.rowChunk) * P, V]
        work = try FlatBuffer(count: sizes.reduce(0) { $0 + (($1 + 15) & ~15) })
        var pointers: [UnsafeMutablePointer<Float>] = []
        var offset = 0
        for s in sizes { pointers.append(work.pointer + offset); offset += (s + 15) & ~15 }
        x = pointers[0]; ln = pointers[1]; qkv = pointers[2]; atty = pointers[3]; proj = pointers[4]
        fch = pointers[5]; fchGelu = pointers[6]; stats = pointers[7]; scores = pointers[8]; lastLogits = pointers[9]
        ids = .allocate(capacity: P)
        ids.initialize(repeating: 0, count: P)
    }

    /// New rows attended per `Attention` call: bounds its (NH, rows, Tk) probability scratch.
    static let rowChunk = 64

    /// Inference over a `GPT`'s current weights (shared, not copied).
    public convenience init(model: GPT, capacity: Int? = nil) throws {
        try self.init(config: model.config, params: model.params, capacity: capacity)
    }

    deinit { ids.deallocate() }

    /// Positions processed so far.
    public var position: Int { cache.count }

    /// Forgets the sequence (starts a new one at position 0).
    public func reset() { cache.reset() }

    /// The (V) logits after the last token appended.
    public var logits: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: lastLogits, count: config.vocabSize) }

    @inline(__always) private func w(_ l: Int, _ t: GPTLayout.BlockTensor) -> UnsafeMutablePointer<Float> {
        params.pointer + layout.offset(layer: l, t)
    }

    /// Runs `tokens` at positions `position ..< position + n`, adds their keys and values to the cache
    /// and leaves the logits of the last one in `logits`. Throws (changing nothing) when a token is
    /// outside the vocabulary or the cache has no room for `n` more positions.
    @discardableResult
    public func append(_ tokens: UnsafeBufferPointer<Int32>) throws -> UnsafeBufferPointer<Float> {
        let n = tokens.count, start = cache.count
        let C = config.dModel, NH = config.nHead, V = config.vocabSize
        guard n >= 1 else { return logits }
        guard start + n <= cache.capacity else {
            throw ModelError("the sequence would reach \(start + n) positions, more than the \(cache.capacity) this model can attend to (model.max_seq_len); use a shorter prompt or fewer new tokens")
        }
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= V {
            throw ModelError("token id \(t) at position \(start + i) is outside model.vocab_size \(V); the tokenizer does not fit the model")
        }
        ids.update(from: tokens.baseAddress!, count: n)
        let wte = params.pointer + layout.wte
        let wpe = layout.wpe.map { params.pointer + $0 } ?? positionTable!.pointer
        Embedding.forward(out: x, tokens: ids, wte: wte, wpe: wpe + start * C, B: 1, T: n, C: C)
        let mean = stats, rstd = stats + n, eps = config.layerNormEps
        for l in 0..<config.nLayer {
            LayerNorm.forward(out: ln, mean: mean, rstd: rstd, inp: x, weight: w(l, .ln1Weight), bias: w(l, .ln1Bias), N: n, C: C, eps: eps)
            Linear.forward(out: qkv, inp: ln, weight: w(l, .qkvWeight), bias: w(l, .qkvBias), N: n, IC: C, OC: 3 * C)
            let keys = cache.keys(l), values = cache.values(l)
            for i in 0..<n {
                (keys + (start + i) * C).update(from: qkv + i * 3 * C + C, count: C)
                (values + (start + i) * C).update(from: qkv + i * 3 * C + 2 * C, count: C)
            }
            // atty = causal attention of the n new rows against cached positions 0 ..< start + n.
            var i0 = 0
            while i0 < n {
                let rows = min(Self.rowChunk, n - i0)
                Attention.forward(out: atty + i0 * C, att: scores, q: qkv + i0 * 3 * C, ldq: 3 * C, k: keys, ldk: C, v: values, ldv: C,
                                  B: 1, Tq: rows, Tk: start + i0 + rows, NH: NH, hs: C / NH, causal: true)
                i0 += rows
            }
            Linear.forward(out: proj, inp: atty, weight: w(l, .attnProjWeight), bias: w(l, .attnProjBias), N: n, IC: C, OC: C)
            Residual.forward(out: x, a: x, b: proj, count: n * C)
            LayerNorm.forward(out: ln, mean: mean, rstd: rstd, inp: x, weight: w(l, .ln2Weight), bias: w(l, .ln2Bias), N: n, C: C, eps: eps)
            Linear.forward(out: fch, inp: ln, weight: w(l, .fcWeight), bias: w(l, .fcBias), N: n, IC: C, OC: 4 * C)
            GELU.forward(out: fchGelu, inp: fch, count: n * 4 * C)
            Linear.forward(out: proj, inp: fchGelu, weight: w(l, .fcProjWeight), bias: w(l, .fcProjBias), N: n, IC: 4 * C, OC: C)
            Residual.forward(out: x, a: x, b: proj, count: n * C)
        }
        // Only the last position's logits are needed to continue the sequence.
        let last = x + (n - 1) * C
        LayerNorm.forward(out: ln, mean: mean, rstd: rstd, inp: last, weight: params.pointer + layout.lnfWeight,
                          bias: params.pointer + layout.lnfBias, N: 1, C: C, eps: eps)
        Linear.forwardTransposed(out: lastLogits, inp: ln, weight: wte, N: 1, IC: C, OC: V)
        cache.count = start + n
        return logits
    }
}
