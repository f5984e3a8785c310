import Kernels
import Support

/// A GPT-2-style transformer over one flat parameter buffer: forward, loss and backward.
///
/// Shapes: B batch, T time, C channels (d_model), V vocab, P position rows, L layers, NH heads,
/// K labels, N = B·T. With `GPTConfig.numLabels` K = 0 it is a language model (the LM head tied to
/// the token embedding, `forward(tokens:targets:B:T:)`); with K > 0 a sequence classifier (a (K, C)
/// `score` head on the last real token, `forward(tokens:lengths:labels:B:T:)` in GPT+Classifier.swift).
/// The body is embeddings (wte + wpe, or a sinusoidal table), a loop over the shared
/// `TransformerBlock` with GPT-2's options (`GPTConfig.blockConfig`: pre-LN, causal, GELU-tanh,
/// Conv1D weights) and the final LayerNorm; both heads feed it backward. Parameters and gradients are
/// `FlatBuffer`s laid out by `GPTLayout` (which gives the block its tensors by role); activations and
/// scratch are allocated once for the largest (B, T) (see `GPTActivations`), so a step allocates
/// nothing. Backward accumulates into `grads` (call `zeroGrad()` between optimizer steps) and reports
/// each parameter range as soon as its gradient is final, so communication can overlap with it.
public final class GPT {
    /// The model's shape and options.
    public let config: GPTConfig
    /// Where each parameter lives in `params` and `grads`.
    public let layout: GPTLayout
    /// All parameters, one contiguous buffer.
    public let params: FlatBuffer
    /// Gradients, same layout as `params`.
    public let grads: FlatBuffer
    /// Activations and backward scratch for batches up to (maxBatch, maxSeqLen).
    public private(set) var acts: GPTActivations
    /// The transformer block every layer runs (GPT-2's options, GPT-2's tensor names).
    private(set) var block: TransformerBlock
    /// Dropout is applied only while training (and only when configured).
    public var training = true
    /// Seed of the dropout masks; the training loop sets it per step and rank for reproducibility.
    public var dropoutSeed: UInt64 = 0
    /// When set, every linear layer (blocks and heads) multiplies bf16 operands with fp32 accumulation
    /// (mixed precision); parameters, gradients and everything else stay fp32. nil: fp32 throughout.
    public var bf16: BF16Matmul?
    /// When set, forward and backward add their per-kernel times to it.
    public var profile: StepProfile?
    /// When set, forward and backward record one event per layer in it (see `Timeline`).
    public var timeline: Timeline?

    /// The fixed sinusoidal position table (P, C), when positions are not learned.
    private let positionTable: FlatBuffer?
    /// Which head the last forward with targets or labels computed a loss on; nil: none (no backward).
    enum Head { case languageModel, classifier }
    /// Tokens and targets of the last forward (B, T), kept for backward.
    private let tokens: UnsafeMutablePointer<Int32>
    private let targets: UnsafeMutablePointer<Int32>
    /// Classifier: labels (B) of the last forward, and the flat row b·T + length − 1 each sequence is read at.
    let labels: UnsafeMutablePointer<Int32>
    let classifiedRows: UnsafeMutablePointer<Int>
    var lastB = 0, lastT = 0
    var lastCount = 0
    var lossHead: Head?
    /// The block inputs of the last forward (batch, dropout), reused by backward to undo exactly what
    /// forward did.
    private var step = BlockStep(B: 1, T: 1)
    /// The token-embedding gradient rows of the batch, set aside during backward (see `HeldGradientRows`).
    private let heldRows: HeldGradientRows

    /// Builds a model for batches up to (maxBatch, maxSeqLen), validating the config first.
    public init(config: GPTConfig, maxBatch: Int, maxSeqLen: Int) throws {
        try config.validate()
        try config.validate(batch: maxBatch, seqLen: maxSeqLen)
        self.config = config
        layout = GPTLayout(config: config)
        params = try FlatBuffer(count: layout.count)
        grads = try FlatBuffer(count: layout.count)
        acts = try GPTActivations(config: config, B: maxBatch, T: maxSeqLen)
        block = TransformerBlock(config: config.blockConfig, table: layout.blockTable, acts: acts.blocks)
        if config.positions == .sinusoidal {
            let table = try FlatBuffer(count: config.maxSeqLen * config.dModel)
            Embedding.sinusoidalTable(into: table.pointer, P: config.maxSeqLen, C: config.dModel)
            positionTable = table
        } else {
            positionTable = nil
        }
        tokens = .allocate(filling: 0, count: maxBatch * maxSeqLen)
        targets = .allocate(filling: 0, count: maxBatch * maxSeqLen)
        labels = .allocate(filling: 0, count: maxBatch)
        classifiedRows = .allocate(filling: 0, count: maxBatch)
        heldRows = HeldGradientRows(vocab: config.vocabSize, width: config.dModel)
    }

    deinit {
        tokens.deallocate()
        targets.deallocate()
        labels.deallocate()
        classifiedRows.deallocate()
    }

    /// GPT-2 initialisation from a seed: N(0, 0.02) weights, residual projections scaled by 1/√(2L),
    /// zero biases, unit LayerNorm gains. The same seed gives the same weights on every rank.
    public func initializeWeights(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let projStd = 0.02 / Float(2 * config.nLayer).squareRoot()
        params.zero()
        for t in layout.tensors {
            let p = params.pointer + t.offset
            if t.name.hasSuffix(".bias") { continue }
            if t.name.contains(".ln_") || t.name.contains("ln_f") {
                p.update(repeating: 1, count: t.count)
            } else {
                rng.fillNormal(p, count: t.count, std: t.name.hasSuffix("c_proj.weight") ? projStd : 0.02)
            }
        }
    }

    /// Reallocates the activations for `bf16` (its operands kept rounded) or fp32 (nil), when they
    /// were made for the other; called by `useBF16` before any step.
    public func prepareActivations(for bf16: BF16Matmul?) throws {
        guard acts.blocks.operandBytes != bf16?.elementSize else { return }
        let (B, T) = (acts.B, acts.T)
        for (b, t, bytes) in [(1, 1, nil), (B, T, bf16?.elementSize)] {   // the old buffers are freed first
            acts = try GPTActivations(config: config, B: b, T: t, operandBytes: bytes)
            block = TransformerBlock(config: config.blockConfig, table: layout.blockTable, acts: acts.blocks)
        }
    }

    /// Sets every gradient to zero.
    public func zeroGrad() { grads.zero() }

    /// The (B, T, V) logits of the last language-model forward; after a forward with targets they hold
    /// probabilities, and after backward the logit gradients. Empty for a classifier.
    public var logits: UnsafeMutablePointer<Float> { acts.pointer(.logits) }

    @inline(__always) func timed(_ kind: StepProfile.Kind, _ body: () -> Void) { StepProfile.time(profile, kind, body) }

    /// Runs the model on `tokens` (B, T). With `targets` (B, T) it returns the mean cross-entropy over
    /// targets that are not `ignoreIndex` (NaN if there are none); without, it returns 0 and leaves the
    /// logits in `logits`. Throws when a token id is outside the vocabulary.
    @discardableResult
    public func forward(tokens input: UnsafePointer<Int32>, targets target: UnsafePointer<Int32>?, B: Int, T: Int) throws -> Float {
        guard config.numLabels == 0 else {
            throw ModelError("this GPT is a \(config.numLabels)-label classifier with no language-model head; call forward(tokens:lengths:labels:B:T:)")
        }
        let mark = try forwardBody(tokens: input, B: B, T: T)
        let C = config.dModel, V = config.vocabSize, N = B * T
        let logits = acts.pointer(.logits)
        timed(.matmul) { Linear.forwardTransposed(out: logits, inp: acts.pointer(.lnf), weight: params.pointer + layout.wte, N: N, IC: C, OC: V, precision: bf16) }
        if let target { targets.update(from: target, count: N) }
        return finishForward(target == nil ? nil : .languageModel, start: mark) {
            CrossEntropy.forward(losses: acts.pointer(.losses), probs: logits, logits: logits, targets: targets, N: N, V: V,
                                 ignoreIndex: config.ignoreIndex, labelSmoothing: config.labelSmoothing)
        }
    }

    /// The end of either head's forward: with a loss `head`, computes the loss (`loss` gives its sum and
    /// count) and returns the mean (NaN without counted rows); without, returns 0 and allows no backward.
    func finishForward(_ head: Head?, start mark: UInt64, loss: () -> (sum: Double, count: Int)) -> Float {
        lossHead = head
        var result: (sum: Double, count: Int) = (0, 0)
        if head != nil { timed(.loss) { result = loss() } }
        lastCount = result.count
        timeline?.record(.forwardHead, start: mark)
        guard head != nil else { return 0 }
        return result.count > 0 ? Float(result.sum / Double(result.count)) : .nan
    }

    /// Embeddings, blocks and the final LayerNorm of `tokens` (B, T) into `acts` (`lnf` holds the
    /// (B, T, C) result); returns the timeline mark where the head's span starts. Shared by both heads.
    func forwardBody(tokens input: UnsafePointer<Int32>, B: Int, T: Int) throws -> UInt64 {
        precondition(B >= 1 && B <= acts.B && T >= 1 && T <= acts.T, "batch (\(B), \(T)) exceeds the allocated (\(acts.B), \(acts.T))")
        let C = config.dModel, V = config.vocabSize, N = B * T
        for i in 0..<N where input[i] < 0 || Int(input[i]) >= V {
            throw ModelError("token id \(input[i]) at position \(i) is outside model.vocab_size \(V); the data's tokenizer does not fit the model — set model.vocab_size to at least the tokenizer's vocabulary")
        }
        tokens.update(from: input, count: N)
        lastB = B; lastT = T
        step = BlockStep(B: B, T: T, dropping: training, dropoutSeed: dropoutSeed, bf16: bf16)
        // x = wte[tokens] + wpe[positions], dropped
        let wte = params.pointer + layout.wte
        let wpe = layout.wpe.map { params.pointer + $0 } ?? positionTable!.pointer
        let enc = acts.pointer(.encoded)
        var mark = timeline != nil ? Timeline.now() : 0
        timed(.other) { Embedding.forward(out: enc, tokens: tokens, wte: wte, wpe: wpe, B: B, T: T, C: C) }
        if training, config.embeddingDropout > 0 {
            timed(.other) { Dropout.forward(out: enc, mask: acts.embeddingMask, inp: enc, count: N * C, p: config.embeddingDropout, seed: dropoutSeed &+ 1) }
        }
        if let timeline { timeline.record(.forwardEmbedding, start: mark); mark = Timeline.now() }
        // x = block_l(x) for each layer
        var x = UnsafePointer(enc)
        for l in 0..<config.nLayer {
            x = block.forward(layer: l, input: x, params: params.pointer + layout.blockStart(l), step: step, profile: profile)
            if let timeline { timeline.record(.forwardLayer, index: l, start: mark); mark = Timeline.now() }
        }
        // lnf = ln_f(x)
        timed(.other) {
            LayerNorm.forward(out: acts.pointer(.lnf), mean: acts.pointer(.lnfMean), rstd: acts.pointer(.lnfRstd), inp: x,
                              weight: params.pointer + layout.lnfWeight, bias: params.pointer + layout.lnfBias, N: N, C: C, eps: config.layerNormEps)
        }
        return mark
    }

    /// Adds the gradient of `lossScale` × (the last forward's mean loss) to `grads`.
    ///
    /// `onReady(range)` is called with each flat-buffer range as soon as its gradient is final for this
    /// backward: the head (`layout.headRange`: ln_f, and the classifier's score) first, then the last
    /// block, earlier blocks, then the embeddings (which the tied LM head and the input both feed).
    /// Ranges are reported in decreasing offset order except the embedding tables at the end.
    public func backward(lossScale: Float = 1, onReady: ((Range<Int>) -> Void)? = nil) {
        _ = backward(lossScale: lossScale, onReady: onReady, deferringTokenEmbedding: false)
    }

    /// The flat range of the token-embedding table (wte), which `backward` can leave its own rows out of.
    public var deferrableEmbeddingRange: Range<Int>? { layout.wte..<(layout.wte + config.vocabSize * config.dModel) }

    /// One row per input token of the largest batch.
    public var deferrableEmbeddingRows: Int { acts.B * acts.T }

    /// Backward as `backward(lossScale:onReady:)`; when `deferringTokenEmbedding`, the gradient that
    /// flows into wte through the input lookup is not added to `grads` but returned as rows (add them
    /// with `Embedding.backward(dwte:dwpe: nil, …)` to get the same gradient bit for bit). The wte
    /// range is then final right after the head and is reported first; at the end only the position
    /// table is reported. Returns nil when not deferring.
    public func backward(lossScale: Float, onReady: ((Range<Int>) -> Void)?, deferringTokenEmbedding: Bool) -> TokenEmbeddingRows? {
        guard let head = lossHead else { preconditionFailure("backward needs a forward with targets (or labels) first") }
        let mark = timeline != nil ? Timeline.now() : 0
        let scale = lastCount > 0 ? lossScale / Float(lastCount) : 0
        // The batch's wte rows get the head and every lookup from zero, then are added once.
        if !deferringTokenEmbedding { heldRows.hold(grads.pointer + layout.wte, tokens: tokens, count: lastB * lastT) }
        // Each head writes dLN (B, T, C), the gradient of the loss w.r.t. the ln_f output, then the shared body.
        switch head {
        case .languageModel: languageModelHeadBackward(scale: scale)
        case .classifier: classifierHeadBackward(scale: scale)
        }
        if deferringTokenEmbedding, let wte = deferrableEmbeddingRange { onReady?(wte) }
        let dEncoded = bodyBackward(start: mark, onReady: onReady, deferringTokenEmbedding: deferringTokenEmbedding)
        guard deferringTokenEmbedding else { return nil }
        return TokenEmbeddingRows(tokens: tokens, rows: dEncoded, count: lastB * lastT, width: config.dModel)
    }

    /// The tied LM head: logit gradients from the probabilities, then dLN and the wte gradient.
    private func languageModelHeadBackward(scale: Float) {
        let N = lastB * lastT, C = config.dModel, V = config.vocabSize
        let dlogits = acts.pointer(.logits), dln = acts.pointer(.dLN)
        timed(.loss) {
            CrossEntropy.backward(dlogits: dlogits, probs: dlogits, targets: targets, scale: scale, N: N, V: V,
                                  ignoreIndex: config.ignoreIndex, labelSmoothing: config.labelSmoothing)
        }
        timed(.other) { VectorMath.zero(dln, count: N * C) }
        timed(.matmul) {
            Linear.backwardTransposed(dinp: dln, dweight: grads.pointer + layout.wte, dout: dlogits, inp: acts.pointer(.lnf),
                                      weight: params.pointer + layout.wte, N: N, IC: C, OC: V, precision: bf16)
        }
    }

    /// From dLN (B, T, C) down: the final LayerNorm, the blocks last to first, the embeddings (wte
    /// only when not deferring it). Returns dEncoded (B, T, C), the gradient at the embeddings' output.
    private func bodyBackward(start: UInt64, onReady: ((Range<Int>) -> Void)?, deferringTokenEmbedding: Bool) -> UnsafePointer<Float> {
        let B = lastB, T = lastT, N = B * T
        let C = config.dModel, V = config.vocabSize
        var d = acts.pointer(.dResidual), e = acts.pointer(.dLN)
        var mark = start
        func input(_ l: Int) -> UnsafePointer<Float> { UnsafePointer(l == 0 ? acts.pointer(.encoded) : block.output(layer: l - 1)) }
        timed(.other) {
            VectorMath.zero(d, count: N * C)
            LayerNorm.backward(dinp: d, dweight: grads.pointer + layout.lnfWeight, dbias: grads.pointer + layout.lnfBias, dout: e,
                               inp: input(config.nLayer), weight: params.pointer + layout.lnfWeight, mean: acts.pointer(.lnfMean),
                               rstd: acts.pointer(.lnfRstd), N: N, C: C)
        }
        if let timeline { timeline.record(.backwardHead, start: mark, range: layout.headRange); mark = Timeline.now() }
        onReady?(layout.headRange)
        for l in stride(from: config.nLayer - 1, through: 0, by: -1) {
            let start = layout.blockStart(l)
            (d, e) = block.backward(layer: l, input: input(l), params: params.pointer + start, grads: grads.pointer + start,
                                    d: d, e: e, step: step, profile: profile)
            if let timeline { timeline.record(.backwardLayer, index: l, start: mark, range: layout.blockRange(l)); mark = Timeline.now() }
            onReady?(layout.blockRange(l))
        }
        var dEncoded = UnsafePointer(d)
        if step.dropping, config.embeddingDropout > 0 {
            let dBranch = acts.pointer(.dBranch)
            timed(.other) {
                VectorMath.zero(dBranch, count: N * C)
                Dropout.backward(dinp: dBranch, dout: d, mask: acts.embeddingMask, count: N * C, p: config.embeddingDropout)
            }
            dEncoded = UnsafePointer(dBranch)
        }
        let dwpe = layout.wpe.map { grads.pointer + $0 }
        let dwte = deferringTokenEmbedding ? nil : grads.pointer + layout.wte
        timed(.other) {
            Embedding.backward(dwte: dwte, dwpe: dwpe, dout: dEncoded, tokens: tokens, B: B, T: T, C: C)
            if let dwte { heldRows.release(dwte) }
        }
        let embeddingEnd = (layout.wpe ?? layout.wte) + (layout.wpe == nil ? V * C : config.maxSeqLen * C)
        let finished = deferringTokenEmbedding ? (layout.wte + V * C)..<embeddingEnd : layout.wte..<embeddingEnd
        timeline?.record(.backwardEmbedding, start: mark, range: finished)
        if !finished.isEmpty { onReady?(finished) }
        return dEncoded
    }
}
