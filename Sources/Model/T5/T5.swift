import Foundation
import Kernels
import Support

/// A T5 encoder-decoder (`T5ForConditionalGeneration`) over one flat parameter buffer: forward, loss
/// and backward.
///
/// Shapes: B batch, S source length, T target length, C width, V vocabulary, NH heads, L encoder and
/// Ld decoder layers. Parameters use `T5Layout` (Hugging Face names, `nn.Linear` (out, in) weights, no
/// biases). The encoder is the shared embedding, the shared `TransformerBlock` with T5's options
/// (`T5Config.encoderBlock`: pre-norm RMS, unscaled attention with key padding, ReLU or gated GELU) and a
/// final RMS norm; its relative position bias (bidirectional buckets) is computed once from the table
/// of its first layer and added in every layer. The decoder is the same with causal buckets, causal
/// self-attention and cross-attention over the encoder's output (with the source padding). The head
/// multiplies by the LM head, which is the shared embedding when tied (the decoder output then scaled
/// by d_model^-0.5 first); the loss is the mean cross-entropy over targets that are not `ignoreIndex`.
///
/// Decoder inputs are the targets shifted right with the start token (`shiftRight`), as Hugging Face
/// builds them from `labels`. Dropout (`dropoutRate`) applies while `training` is set, with
/// counter-based masks from `dropoutSeed`, so backward undoes exactly what forward did. Backward
/// accumulates into `grads` and reports each range as soon as it is final (see `T5Layout`).
public final class T5: EncoderDecoderModel {
    /// The model's shape and options.
    public let config: T5Config
    /// Where each parameter lives in `params` and `grads`.
    public let layout: T5Layout
    /// Activations and backward scratch.
    public let acts: T5Activations
    /// Builds a model for batches up to (maxBatch, maxSource, maxTarget), validating the config first.
    public init(config: T5Config, maxBatch: Int, maxSource: Int, maxTarget: Int) throws {
        try T5.check(config, maxBatch: maxBatch, maxSource: maxSource, maxTarget: maxTarget)
        let layout = T5Layout(config: config), acts = try T5Activations(config: config, B: maxBatch, S: maxSource, T: maxTarget)
        self.config = config; self.layout = layout; self.acts = acts
        try super.init(config: config, parameterCount: layout.count, tables: (layout.encoderBlockTable, layout.decoderBlockTable), acts: acts,
                   logits: acts.pointer(.logits), losses: acts.pointer(.losses))
    }

    /// Hugging Face's T5 initialisation (factor 1): shared and an untied head N(0, 1); q N(0, (C·hs)^-½),
    /// k, v and wi N(0, C^-½), o N(0, D^-½), wo N(0, F^-½), position bias N(0, C^-½); norms 1. The same
    /// seed gives the same weights on every rank.
    public func initializeWeights(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        params.zero()
        let C = Float(config.dModel), D = Float(config.attentionWidth), F = Float(config.dFF), hs = Float(config.dKV)
        for t in layout.tensors {
            let p = params.pointer + t.offset, name = t.name
            let std: Float
            if name.hasSuffix("layer_norm.weight") { p.update(repeating: 1, count: t.count); continue }
            if name == "shared.weight" || name == "lm_head.weight" { std = 1 }
            else if name.hasSuffix(".q.weight") { std = 1 / (C * hs).squareRoot() }
            else if name.hasSuffix(".o.weight") { std = 1 / D.squareRoot() }
            else if name.hasSuffix("wo.weight") { std = 1 / F.squareRoot() }
            else { std = 1 / C.squareRoot() }   // k, v, wi, wi_0, wi_1, relative_attention_bias
            rng.fillNormal(p, count: t.count, std: std)
        }
    }

    /// Hugging Face's `_shift_right`: decoder inputs (B, T) from targets, the start token first and
    /// ignored targets replaced by the padding id.
    public func shiftRight(_ targets: UnsafePointer<Int32> /* (B,T) */, into out: UnsafeMutablePointer<Int32> /* (B,T) */, B: Int, T: Int) {
        Seq2Seq.shiftRight(targets, into: out, B: B, T: T, start: config.decoderStartTokenId, ignored: config.ignoreIndex, pad: config.padTokenId)
    }

    /// The input of encoder / decoder block `l` (l = L: the stack's last output).
    func encoderInput(_ l: Int) -> UnsafePointer<Float> {
        UnsafePointer(l == 0 ? acts.pointer(.encoderEmbedded) : encoder.output(layer: l - 1))
    }
    func decoderInput(_ l: Int) -> UnsafePointer<Float> {
        UnsafePointer(l == 0 ? acts.pointer(.decoderEmbedded) : decoder.output(layer: l - 1))
    }

    /// The encoder: embedding, position bias, blocks, final norm into `encoderOut` (B, S, C).
    override func encode(source: UnsafePointer<Int32>, sourceMask: UnsafePointer<UInt8>?, B: Int, S: Int) {
        let C = config.dModel, N = B * S, p = params.pointer
        let padding = copySource(source, sourceMask: sourceMask, B: B, S: S)
        let embedded = acts.pointer(.encoderEmbedded), bias = acts.pointer(.encoderBias)
        timed(.other) {
            Embedding.lookup(out: embedded, tokens: sourceTokens, wte: p + layout.shared, N: N, C: C)
            dropout(.encoderEmbedding, embedded, count: N * C)
            positionBias(bias, table: layout.encoderRelativeBias, Tq: S, Tk: S, bidirectional: true)
        }
        encoderStep = BlockStep(B: B, T: S, keyPadding: padding, positionBias: bias,
                                dPositionBias: acts.pointer(.dEncoderBias), dropping: training, dropoutSeed: dropoutSeed, bf16: bf16)
        var x = UnsafePointer(embedded)
        for l in 0..<config.numLayers {
            x = encoder.forward(layer: l, input: x, params: p + layout.encoderBlockStart(l), step: encoderStep, profile: profile)
        }
        let out = acts.pointer(.encoderOut)
        timed(.other) {
            RMSNorm.forward(out: out, rstd: acts.pointer(.encoderRstd), inp: x, weight: p + layout.encoderFinalNorm, N: N, C: C,
                            eps: config.layerNormEps)
            dropout(.encoderOut, out, count: N * C)
        }
    }

    /// The decoder on `decoderTokens` (B, T) over the last encoder output, then the head into `logits`.
    override func decode(B: Int, S: Int, T: Int) {
        let C = config.dModel, N = B * T, p = params.pointer
        let embedded = acts.pointer(.decoderEmbedded), bias = acts.pointer(.decoderBias)
        timed(.other) {
            Embedding.lookup(out: embedded, tokens: decoderTokens, wte: p + layout.shared, N: N, C: C)
            dropout(.decoderEmbedding, embedded, count: N * C)
            positionBias(bias, table: layout.decoderRelativeBias, Tq: T, Tk: T, bidirectional: false)
        }
        decoderStep = BlockStep(B: B, T: T, positionBias: bias, dPositionBias: acts.pointer(.dDecoderBias),
                                encoder: acts.pointer(.encoderOut), Tk: S, encoderPadding: encoderStep.keyPadding,
                                dEncoder: acts.pointer(.dEncoderOut), dropping: training, dropoutSeed: dropoutSeed &+ Self.decoderSeed, bf16: bf16)
        var x = UnsafePointer(embedded)
        for l in 0..<config.numDecoderLayers {
            x = decoder.forward(layer: l, input: x, params: p + layout.decoderBlockStart(l), step: decoderStep, profile: profile)
        }
        let out = acts.pointer(.decoderOut), headIn = acts.pointer(.headIn)
        timed(.other) {
            RMSNorm.forward(out: out, rstd: acts.pointer(.decoderRstd), inp: x, weight: p + layout.decoderFinalNorm, N: N, C: C,
                            eps: config.layerNormEps)
            dropout(.decoderOut, out, count: N * C)
            headIn.update(from: out, count: N * C)
            if config.tieWordEmbeddings { VectorMath.scale(headIn, count: N * C, by: headScale) }
        }
        timed(.matmul) {
            Linear.forwardTransposed(out: logits, inp: headIn, weight: p + layout.headWeight, N: N, IC: C, OC: config.vocabSize, precision: bf16)
        }
    }

    /// d_model^-0.5 when the head is tied to the embedding, else 1.
    var headScale: Float { config.tieWordEmbeddings ? 1 / Float(config.dModel).squareRoot() : 1 }

    /// In-place dropout at a site outside the blocks, while training.
    func dropout(_ site: T5Activations.DropoutSite, _ x: UnsafeMutablePointer<Float>, count: Int) {
        guard training, config.dropoutRate > 0 else { return }
        Dropout.forward(out: x, mask: acts.mask(site), inp: x, count: count, p: config.dropoutRate,
                        seed: dropoutSeed &+ 0x20000 &+ UInt64(site.rawValue))
    }

    /// Fills a stack's (NH, Tq, Tk) position bias from its table.
    func positionBias(_ bias: UnsafeMutablePointer<Float>, table: Int, Tq: Int, Tk: Int, queryStart: Int = 0, bidirectional: Bool) {
        RelativePositionBias.forward(bias: bias, table: params.pointer + table, NH: config.numHeads, Tq: Tq, Tk: Tk,
                                     queryStart: queryStart, bidirectional: bidirectional,
                                     numBuckets: config.relativeAttentionNumBuckets, maxDistance: config.relativeAttentionMaxDistance)
    }
}
