import Foundation
import Kernels
import Support

/// A BERT encoder with the masked-LM head (and optionally the pooler + next-sentence head) over one flat
/// parameter buffer: forward, loss and backward.
///
/// Shapes: B batch, T time, C channels, I feed-forward width, V vocab, P position rows, L layers,
/// NH heads, N = B·T, M = rows that reach the MLM head. Parameters use `BERTLayout` (Hugging Face BERT
/// names and `nn.Linear` (out, in) weights). The encoder is embeddings (word + position + segment,
/// LayerNorm), a loop over the shared `TransformerBlock` with BERT's options (`BERTConfig.blockConfig`:
/// bidirectional attention with key padding, exact-erf GELU, post-LN as BERT or pre-LN with a final
/// LayerNorm), then the heads.
///
/// With targets the MLM head (dense → GELU → LayerNorm → tied decoder + bias) runs only on the M rows
/// whose target is not `ignoreIndex` (the masked positions), which skips most of the (N, V) product;
/// without targets it runs on all N rows so `logits` holds every position. The loss is the mean
/// cross-entropy over those rows, plus the mean cross-entropy of the sequence head on [CLS] when its
/// labels are given: next-sentence prediction (as `BertForPreTraining`), or, with
/// `BERTConfig.numLabels` K > 0, a K-way classifier that replaces the MLM head (as
/// `BertForSequenceClassification`, the fine-tuning model). Backward accumulates into `grads` and reports each range as soon as its
/// gradient is final: the heads, then the blocks from last to first, then the embeddings.
/// Dropout (Hugging Face's hidden and attention-probability dropout) applies while `training` is set,
/// with counter-based masks from `dropoutSeed`, so backward undoes exactly what forward did.
public final class BERT {
    /// The model's shape and options.
    public let config: BERTConfig
    /// Where each parameter lives in `params` and `grads`.
    public let layout: BERTLayout
    /// All parameters, one contiguous buffer.
    public let params: FlatBuffer
    /// Gradients, same layout as `params`.
    public let grads: FlatBuffer
    /// Activations and backward scratch for batches up to (maxBatch, maxSeqLen).
    public let acts: BERTActivations
    /// The transformer block every layer runs (BERT's options, BERT's tensor names).
    let block: TransformerBlock
    /// When set, forward and backward add their per-kernel times to it.
    public var profile: StepProfile?
    /// When set, the Chrome-trace recorder (`logging.timeline`); BERT records whole steps only, not per layer.
    public var timeline: Timeline?
    /// Dropout is applied only while training (and only when configured).
    public var training = true
    /// Seed of the dropout masks; the training loop sets it per step and rank for reproducibility.
    public var dropoutSeed: UInt64 = 0
    /// When set, every linear layer (blocks and heads) multiplies bf16 operands with fp32 accumulation
    /// (mixed precision); parameters, gradients and everything else stay fp32. nil: fp32 throughout.
    public var bf16: BF16Matmul?
    /// The mean MLM and sequence-head (NSP or classifier) losses of the last forward (NaN when it had
    /// no such targets).
    public private(set) var lastMLMLoss: Float = .nan, lastSequenceLoss: Float = .nan
    /// M: rows the MLM head ran on in the last forward (rows of `logits`).
    public private(set) var headRows = 0

    private let tokens: UnsafeMutablePointer<Int32>     // (B,T)
    private let segments: UnsafeMutablePointer<Int32>   // (B,T)
    private let keep: UnsafeMutablePointer<UInt8>       // (B,T) 1 = real token, 0 = padding
    let rows: UnsafeMutablePointer<Int>         // (M) the flat row of each head row
    let rowTargets: UnsafeMutablePointer<Int32> // (M)
    let sequenceTargets: UnsafeMutablePointer<Int32> // (B)
    var lastB = 0, lastT = 0, mlmCount = 0, sequenceCount = 0
    private var hasTargets = false
    /// The block inputs of the last forward (batch, padding, dropout), reused by backward to undo
    /// exactly what forward did.
    private var step = BlockStep(B: 1, T: 1)
    /// Whether the last forward applied dropout.
    var droppedInForward: Bool { step.dropping }

    /// Builds a model for batches up to (maxBatch, maxSeqLen), validating the config first.
    public init(config: BERTConfig, maxBatch: Int, maxSeqLen: Int) throws {
        try config.validate()
        try config.validate(batch: maxBatch, seqLen: maxSeqLen)
        self.config = config
        layout = BERTLayout(config: config)
        params = try FlatBuffer(count: layout.count)
        grads = try FlatBuffer(count: layout.count)
        acts = try BERTActivations(config: config, B: maxBatch, T: maxSeqLen)
        block = TransformerBlock(config: config.blockConfig, table: layout.blockTable, acts: acts.blocks)
        let N = maxBatch * maxSeqLen
        tokens = .allocate(filling: 0, count: N)
        segments = .allocate(filling: 0, count: N)
        keep = .allocate(filling: 1, count: N)
        rows = .allocate(filling: 0, count: N)
        rowTargets = .allocate(filling: 0, count: N)
        sequenceTargets = .allocate(filling: 0, count: maxBatch)
    }

    deinit {
        tokens.deallocate(); segments.deallocate(); keep.deallocate()
        rows.deallocate(); rowTargets.deallocate(); sequenceTargets.deallocate()
    }

    /// BERT initialisation from a seed: N(0, 0.02) for every matrix and embedding table, zero biases,
    /// unit LayerNorm gains. The same seed gives the same weights on every rank.
    public func initializeWeights(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        params.zero()
        for t in layout.tensors {
            let p = params.pointer + t.offset
            if t.name.hasSuffix("LayerNorm.weight") {
                p.update(repeating: 1, count: t.count)
            } else if t.shape.count >= 2 {
                rng.fillNormal(p, count: t.count, std: 0.02)
            }
        }
    }

    /// Sets every gradient to zero.
    public func zeroGrad() { grads.zero() }

    /// The (M, V) MLM logits of the last forward (M = N without targets); after a forward with targets
    /// they hold probabilities, and after backward the logit gradients.
    public var logits: UnsafeMutablePointer<Float> { acts.pointer(.logits) }

    /// The (B, K) logits of the sequence head on [CLS] of the last forward (K = 2 for NSP, the number
    /// of labels for a classifier); after a forward with sequence labels they hold probabilities.
    public var sequenceLogits: UnsafeMutablePointer<Float> { acts.pointer(.sequenceLogits) }

    /// The (B, T, C) encoder output of the last forward (Hugging Face's `last_hidden_state`; pre-LN:
    /// after the final LayerNorm), rows in the batch's (B, T) order.
    public var lastHiddenState: UnsafePointer<Float> {
        layout.finalLNWeight != nil ? UnsafePointer(acts.pointer(.lnf)) : blockInput(config.nLayer)
    }

    @inline(__always) func timed(_ kind: StepProfile.Kind, _ body: () -> Void) { StepProfile.time(profile, kind, body) }

    /// The input of block `l`: the embeddings for l = 0, else block l − 1's output (l = L: the encoder's).
    private func blockInput(_ l: Int) -> UnsafePointer<Float> {
        UnsafePointer(l == 0 ? acts.pointer(.encoded) : block.output(layer: l - 1))
    }

    /// Runs the encoder on `tokens` (B, T) with `segments` (B, T; nil = all segment 0) and
    /// `attentionMask` (B, T; 1 = token, 0 = padding; nil = no padding).
    ///
    /// With `targets` (B, T; `ignoreIndex` where there is no MLM target) and/or `sequenceLabels` (B; for
    /// NSP Hugging Face's convention: 0 = B continues A, 1 = B is random; for a classifier the class id;
    /// or `ignoreIndex`) it returns the MLM mean cross-entropy plus the sequence head's (NaN when there is
    /// no target at all); without either it returns 0 and leaves the logits of all N rows in `logits`
    /// (MLM models) and the [CLS] logits in `sequenceLogits`. Throws when an id is outside its table.
    @discardableResult
    public func forward(tokens input: UnsafePointer<Int32>, segments seg: UnsafePointer<Int32>?,
                        attentionMask mask: UnsafePointer<UInt8>?, targets target: UnsafePointer<Int32>?,
                        sequenceLabels: UnsafePointer<Int32>? = nil, B: Int, T: Int) throws -> Float {
        precondition(B >= 1 && B <= acts.B && T >= 1 && T <= acts.T, "batch (\(B), \(T)) exceeds the allocated (\(acts.B), \(acts.T))")
        let C = config.dModel, V = config.vocabSize, N = B * T
        try check(input, seg, target, sequenceLabels, B: B, T: T)
        tokens.update(from: input, count: N)
        if let seg { segments.update(from: seg, count: N) } else { segments.update(repeating: 0, count: N) }
        var padded = false
        if let mask {
            for i in 0..<N { keep[i] = mask[i] == 0 ? 0 : 1; if mask[i] == 0 { padded = true } }
        } else {
            keep.update(repeating: 1, count: N)
        }
        lastB = B; lastT = T
        step = BlockStep(B: B, T: T, keyPadding: padded ? UnsafePointer(keep) : nil, dropping: training, dropoutSeed: dropoutSeed, bf16: bf16)
        let p = params.pointer
        let embedded = acts.pointer(.embedded), encoded = acts.pointer(.encoded)
        timed(.other) {
            Embedding.forward(out: embedded, tokens: tokens, wte: p + layout.wordEmbeddings, wpe: p + layout.positionEmbeddings, B: B, T: T, C: C)
            for n in 0..<N { VectorMath.add(embedded + n * C, p + layout.tokenTypeEmbeddings + Int(segments[n]) * C, count: C) }
            LayerNorm.forward(out: encoded, mean: acts.pointer(.embMean), rstd: acts.pointer(.embRstd), inp: embedded,
                              weight: p + layout.embLNWeight, bias: p + layout.embLNBias, N: N, C: C, eps: config.layerNormEps)
        }
        if training, config.hiddenDropout > 0 {
            timed(.other) { Dropout.forward(out: encoded, mask: acts.embeddingMask, inp: encoded, count: N * C, p: config.hiddenDropout, seed: dropoutSeed &+ 1) }
        }
        // x = block_l(x) for each layer, then (pre-LN) the final LayerNorm
        var x = UnsafePointer(encoded)
        for l in 0..<config.nLayer {
            x = block.forward(layer: l, input: x, params: p + layout.blockStart(l), step: step, profile: profile)
        }
        if let fw = layout.finalLNWeight, let fb = layout.finalLNBias {
            let lnf = acts.pointer(.lnf)
            timed(.other) {
                LayerNorm.forward(out: lnf, mean: acts.pointer(.lnfMean), rstd: acts.pointer(.lnfRstd), inp: x,
                                  weight: p + fw, bias: p + fb, N: N, C: C, eps: config.layerNormEps)
            }
            x = UnsafePointer(lnf)
        }
        if config.sequenceLabels > 0 { timed(.other) { poolerForward(hidden: x, B: B, T: T) } }
        // MLM head on the rows with a target (or all rows).
        var M = 0
        if let target {
            for n in 0..<N where target[n] != config.ignoreIndex { rows[M] = n; rowTargets[M] = target[n]; M += 1 }
            let headIn = acts.pointer(.headIn)
            for m in 0..<M { (headIn + m * C).update(from: x + rows[m] * C, count: C) }
            if M > 0 { headForward(UnsafePointer(headIn), M: M) }
        } else if config.hasMLMHead {
            M = N
            headForward(UnsafePointer(x), M: N)
        }
        headRows = M
        hasTargets = target != nil || sequenceLabels != nil
        mlmCount = 0; sequenceCount = 0
        lastMLMLoss = .nan; lastSequenceLoss = .nan
        guard hasTargets else { return 0 }
        var total: Float = 0
        if target != nil, M > 0 {
            var result: (sum: Double, count: Int) = (0, 0)
            timed(.loss) {
                result = CrossEntropy.forward(losses: acts.pointer(.losses), probs: logits, logits: logits, targets: rowTargets, N: M, V: V,
                                              ignoreIndex: config.ignoreIndex)
            }
            mlmCount = result.count
            lastMLMLoss = Float(result.sum / Double(result.count))
            total += lastMLMLoss
        }
        if let sequenceLabels {
            sequenceTargets.update(from: sequenceLabels, count: B)
            let result = CrossEntropy.forward(losses: acts.pointer(.sequenceLosses), probs: sequenceLogits, logits: sequenceLogits,
                                              targets: sequenceTargets, N: B, V: config.sequenceLabels, ignoreIndex: config.ignoreIndex)
            sequenceCount = result.count
            if result.count > 0 {
                lastSequenceLoss = Float(result.sum / Double(result.count))
                total += lastSequenceLoss
            }
        }
        return mlmCount + sequenceCount > 0 ? total : .nan
    }

    /// Throws a one-line error for an id outside its table, or targets for a head the model lacks.
    private func check(_ input: UnsafePointer<Int32>, _ seg: UnsafePointer<Int32>?, _ target: UnsafePointer<Int32>?,
                       _ sequenceLabels: UnsafePointer<Int32>?, B: Int, T: Int) throws {
        let V = config.vocabSize, N = B * T
        for i in 0..<N where input[i] < 0 || Int(input[i]) >= V {
            throw ModelError("token id \(input[i]) at position \(i) is outside model.vocab_size \(V); the data's tokenizer does not fit the model — set model.vocab_size to at least the tokenizer's vocabulary")
        }
        if let seg {
            for i in 0..<N where seg[i] < 0 || Int(seg[i]) >= config.typeVocabSize {
                throw ModelError("segment id \(seg[i]) at position \(i) is outside the \(config.typeVocabSize) token types")
            }
        }
        if let target {
            guard config.hasMLMHead else { throw ModelError("masked-LM targets given to a classifier, which has no MLM head") }
            for i in 0..<N where target[i] != config.ignoreIndex && (target[i] < 0 || Int(target[i]) >= V) {
                throw ModelError("MLM target \(target[i]) at position \(i) is outside model.vocab_size \(V)")
            }
        }
        if let sequenceLabels {
            let K = config.sequenceLabels
            guard K > 0 else { throw ModelError("next-sentence labels given to a model without the NSP head; set model.nsp: true") }
            for b in 0..<B where sequenceLabels[b] != config.ignoreIndex && (sequenceLabels[b] < 0 || Int(sequenceLabels[b]) >= K) {
                let what = config.numLabels > 0 ? "label" : "next-sentence label"
                throw ModelError("\(what) \(sequenceLabels[b]) of sequence \(b) is outside 0..<\(K) (or \(config.ignoreIndex) to skip it)")
            }
        }
    }


    /// Adds the gradient of `lossScale` × (the last forward's loss) to `grads`.
    ///
    /// `onReady(range)` is called with each flat-buffer range as soon as its gradient is final: the
    /// head range (final LayerNorm, pooler, MLM and sequence heads), then blocks from last to first, then the
    /// embeddings (which the tied decoder also feeds).
    public func backward(lossScale: Float = 1, onReady: ((Range<Int>) -> Void)? = nil) {
        precondition(hasTargets, "backward needs a forward with targets first")
        let B = lastB, T = lastT, N = B * T
        let C = config.dModel
        let p = params.pointer, gr = grads.pointer
        var d = acts.pointer(.dResidual), e = acts.pointer(.dLN)
        timed(.other) { VectorMath.zero(d, count: N * C) }
        if mlmCount > 0 { mlmHeadBackward(into: d, lossScale: lossScale) }
        if sequenceCount > 0 { timed(.other) { poolerBackward(into: d, lossScale: lossScale, B: B, T: T) } }
        if let fw = layout.finalLNWeight, let fb = layout.finalLNBias {
            timed(.other) {
                VectorMath.zero(e, count: N * C)
                LayerNorm.backward(dinp: e, dweight: gr + fw, dbias: gr + fb, dout: d, inp: blockInput(config.nLayer), weight: p + fw,
                                   mean: acts.pointer(.lnfMean), rstd: acts.pointer(.lnfRstd), N: N, C: C)
            }
            swap(&d, &e)
        }
        onReady?(layout.headRange)
        for l in stride(from: config.nLayer - 1, through: 0, by: -1) {
            let start = layout.blockStart(l)
            (d, e) = block.backward(layer: l, input: blockInput(l), params: p + start, grads: gr + start, d: d, e: e, step: step, profile: profile)
            onReady?(layout.blockRange(l))
        }
        timed(.other) {
            var dEncoded = UnsafePointer(d)
            if droppedInForward, config.hiddenDropout > 0 {
                let dBranch = acts.pointer(.dBranch)
                VectorMath.zero(dBranch, count: N * C)
                Dropout.backward(dinp: dBranch, dout: d, mask: acts.embeddingMask, count: N * C, p: config.hiddenDropout)
                dEncoded = UnsafePointer(dBranch)
            }
            VectorMath.zero(e, count: N * C)
            LayerNorm.backward(dinp: e, dweight: gr + layout.embLNWeight, dbias: gr + layout.embLNBias, dout: dEncoded, inp: acts.pointer(.embedded),
                               weight: p + layout.embLNWeight, mean: acts.pointer(.embMean), rstd: acts.pointer(.embRstd), N: N, C: C)
            Embedding.backward(dwte: gr + layout.wordEmbeddings, dwpe: gr + layout.positionEmbeddings, dout: e, tokens: tokens, B: B, T: T, C: C)
            Embedding.backward(dwte: gr + layout.tokenTypeEmbeddings, dwpe: nil, dout: e, tokens: segments, B: B, T: T, C: C)
        }
        onReady?(layout.embeddingRange)
    }

}
