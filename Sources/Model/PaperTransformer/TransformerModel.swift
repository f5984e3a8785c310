import Foundation
import Kernels
import Support

/// The encoder-decoder of "Attention Is All You Need" over one flat parameter buffer, at parity with
/// `torch.nn.Transformer`: forward, loss and backward.
///
/// Shapes: B batch, S source length, T target length, C width, V vocabulary, L encoder and Ld decoder
/// layers. Parameters use `TransformerLayout` (nn.Transformer's names, (out, in) weights with biases).
/// Both stacks embed their tokens with the one shared table scaled by √C and add the sinusoidal
/// positions, then dropout; the encoder is post-LayerNorm blocks (`TransformerConfig.encoderBlock`:
/// self-attention with the source padding, ReLU feed-forward) and nn.Transformer's final LayerNorm; the
/// decoder the same with causal self-attention and cross-attention over the encoder's output (with the
/// source padding). The logits are the decoder output times the shared table (no bias); the loss is
/// the mean label-smoothed cross-entropy over targets that are not `ignoreIndex` (PyTorch's
/// `cross_entropy(label_smoothing:, ignore_index:)`).
///
/// Target padding needs no mask in the decoder: with right padding, causal self-attention already keeps
/// every real position from seeing it, and padded positions are left out of the loss. Dropout
/// (`dropout`) applies while `training` is set, with counter-based masks from `dropoutSeed`.
public final class TransformerModel: EncoderDecoderModel {
    /// The model's shape and options.
    public let config: TransformerConfig
    /// Where each parameter lives in `params` and `grads`.
    public let layout: TransformerLayout
    /// Activations and backward scratch.
    public let acts: TransformerActivations
    /// Builds a model for batches up to (maxBatch, maxSource, maxTarget), validating the config first.
    public init(config: TransformerConfig, maxBatch: Int, maxSource: Int, maxTarget: Int) throws {
        guard max(maxSource, maxTarget) <= config.maxPositions else {
            throw ModelError("sources of \(maxSource) and targets of \(maxTarget) tokens exceed the \(config.maxPositions) positions of model.max_seq_len; raise it or shorten training.seq_len")
        }
        try TransformerModel.check(config, maxBatch: maxBatch, maxSource: maxSource, maxTarget: maxTarget)
        let layout = TransformerLayout(config: config), acts = try TransformerActivations(config: config, B: maxBatch, S: maxSource, T: maxTarget)
        self.config = config; self.layout = layout; self.acts = acts
        try super.init(config: config, parameterCount: layout.count, tables: (layout.encoderBlockTable, layout.decoderBlockTable), acts: acts,
                   logits: acts.pointer(.logits), losses: acts.pointer(.losses))
        Embedding.sinusoidalTable(into: acts.pointer(.positions), P: max(maxSource, maxTarget), C: config.dModel)
    }

    /// nn.Transformer's initialisation (`_reset_parameters`: Xavier-uniform on every matrix) with the
    /// attention and feed-forward biases 0 and the LayerNorms 1 and 0; the shared embedding N(0, C^-½)
    /// as fairseq initialises a table that is also the output projection. The same seed gives the same
    /// weights on every rank.
    public func initializeWeights(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        params.zero()
        for t in layout.tensors {
            let p = params.pointer + t.offset
            if t.name == "embedding.weight" {
                rng.fillNormal(p, count: t.count, std: 1 / Float(config.dModel).squareRoot())
            } else if t.shape.count == 2 {
                let bound = (6 / Double(t.shape[0] + t.shape[1])).squareRoot()
                for i in 0..<t.count { p[i] = Float((2 * rng.uniform() - 1) * bound) }
            } else if t.name.contains("norm") && t.name.hasSuffix(".weight") {
                p.update(repeating: 1, count: t.count)
            }
        }
    }

    /// Decoder inputs (B, T) from targets (B, T): EOS first, then the targets shifted right, ignored
    /// targets replaced by the padding id.
    public func shiftRight(_ targets: UnsafePointer<Int32> /* (B,T) */, into out: UnsafeMutablePointer<Int32> /* (B,T) */, B: Int, T: Int) {
        Seq2Seq.shiftRight(targets, into: out, B: B, T: T, start: config.eosTokenId, ignored: config.ignoreIndex, pad: config.padTokenId)
    }

    /// The input of encoder / decoder layer `l` (l = L: the stack's last output, before its final norm).
    func encoderInput(_ l: Int) -> UnsafePointer<Float> { Seq2Seq.layerInput(encoder, embedded: acts.pointer(.encoderEmbedded), l) }
    func decoderInput(_ l: Int) -> UnsafePointer<Float> { Seq2Seq.layerInput(decoder, embedded: acts.pointer(.decoderEmbedded), l) }

    /// The encoder: embedding, layers, final norm into `encoderOut` (B, S, C).
    override func encode(source: UnsafePointer<Int32>, sourceMask: UnsafePointer<UInt8>?, B: Int, S: Int) {
        let N = B * S, p = params.pointer
        let padding = copySource(source, sourceMask: sourceMask, B: B, S: S)
        let embedded = acts.pointer(.encoderEmbedded)
        timed(.other) { embed(sourceTokens, into: embedded, site: .encoderEmbedding, B: B, T: S) }
        encoderStep = BlockStep(B: B, T: S, keyPadding: padding, dropping: training,
                                dropoutSeed: dropoutSeed, bf16: bf16)
        var x = UnsafePointer(embedded)
        for l in 0..<config.numEncoderLayers {
            x = encoder.forward(layer: l, input: x, params: p + layout.encoderLayerStart(l), step: encoderStep, profile: profile)
        }
        timed(.other) { finalNorm(out: acts.pointer(.encoderOut), inp: x, at: layout.encoderNorm, .encoderMean, .encoderRstd, N: N) }
    }

    /// The decoder on `decoderTokens` (B, T) over the last encoder output, then the projection into `logits`.
    override func decode(B: Int, S: Int, T: Int) {
        let N = B * T, p = params.pointer
        let embedded = acts.pointer(.decoderEmbedded), out = acts.pointer(.decoderOut)
        timed(.other) { embed(decoderTokens, into: embedded, site: .decoderEmbedding, B: B, T: T) }
        decoderStep = BlockStep(B: B, T: T, encoder: acts.pointer(.encoderOut), Tk: S, encoderPadding: encoderStep.keyPadding,
                                dEncoder: acts.pointer(.dEncoderOut), dropping: training, dropoutSeed: dropoutSeed &+ Self.decoderSeed, bf16: bf16)
        var x = UnsafePointer(embedded)
        for l in 0..<config.numDecoderLayers {
            x = decoder.forward(layer: l, input: x, params: p + layout.decoderLayerStart(l), step: decoderStep, profile: profile)
        }
        timed(.other) { finalNorm(out: out, inp: x, at: layout.decoderNorm, .decoderMean, .decoderRstd, N: N) }
        timed(.matmul) {
            Linear.forwardTransposed(out: logits, inp: out, weight: p + layout.embedding, N: N, IC: config.dModel, OC: config.vocabSize,
                                     precision: bf16)
        }
    }

    /// √C, the embedding scale.
    var embeddingScale: Float { Float(config.dModel).squareRoot() }

    /// out (B, T, C) = dropout(E[tokens]·√C + PE[t]).
    func embed(_ tokens: UnsafePointer<Int32>, into out: UnsafeMutablePointer<Float>, site: TransformerActivations.DropoutSite, B: Int, T: Int) {
        let C = config.dModel, scale = embeddingScale, pe = acts.pointer(.positions)
        Embedding.lookup(out: out, tokens: tokens, wte: params.pointer + layout.embedding, N: B * T, C: C)
        for n in 0..<(B * T) {
            let row = out + n * C, position = pe + (n % T) * C
            for c in 0..<C { row[c] = row[c] * scale + position[c] }
        }
        guard training, config.dropout > 0 else { return }
        Dropout.forward(out: out, mask: acts.mask(site), inp: out, count: B * T * C, p: config.dropout,
                        seed: dropoutSeed &+ 0x20000 &+ UInt64(site.rawValue))
    }

    /// A stack's final LayerNorm (weight at `offset`, bias after it), saving its statistics.
    private func finalNorm(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, at offset: Int,
                           _ mean: TransformerActivations.Global, _ rstd: TransformerActivations.Global, N: Int) {
        let C = config.dModel, p = params.pointer
        LayerNorm.forward(out: out, mean: acts.pointer(mean), rstd: acts.pointer(rstd), inp: inp, weight: p + offset,
                          bias: p + offset + C, N: N, C: C, eps: config.layerNormEps)
    }
}
