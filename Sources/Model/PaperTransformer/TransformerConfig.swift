/// The shape and options of the encoder-decoder of "Attention Is All You Need", as `torch.nn.Transformer`
/// builds it (its argument names and defaults: the paper's base model).
///
/// Shapes: V vocabulary, C = d_model, NH heads (hs = C/NH), F = dim_feedforward, L encoder and Ld decoder
/// layers, P position-table rows (the longest source or target). `validate()` checks every field before
/// anything is allocated and names the offending `model.` key.
public struct TransformerConfig: Codable, Equatable, Sendable {
    /// V: vocabulary size (rows of the shared embedding, columns of the logits).
    public var vocabSize = 32000
    /// C: model width (`d_model`).
    public var dModel = 512
    /// NH: attention heads (`nhead`); must divide d_model.
    public var numHeads = 8
    /// L: encoder layers (`num_encoder_layers`).
    public var numEncoderLayers = 6
    /// Ld: decoder layers (`num_decoder_layers`).
    public var numDecoderLayers = 6
    /// F: feed-forward width (`dim_feedforward`).
    public var dimFeedforward = 2048
    /// `dropout`: on the embeddings (after the positions are added), each sublayer's output, the
    /// attention probabilities and the feed-forward activation, as nn.Transformer places it (0 = off).
    public var dropout: Float = 0.1
    /// P: rows of the sinusoidal position table (longest source or target).
    public var maxPositions = 512
    /// LayerNorm epsilon (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-5
    /// Label smoothing ε of the loss (the paper's 0.1).
    public var labelSmoothing: Float = 0.1
    /// The padding id of sources and targets.
    public var padTokenId: Int32 = 0
    /// The end-of-sequence id, also the decoder's start token (as fairseq starts decoding).
    public var eosTokenId: Int32 = 1
    /// Targets equal to this id are left out of the loss.
    public var ignoreIndex: Int32 = -100

    public init() {}

    /// Checks every field; throws a `ModelError` naming the first bad one and the fix.
    public func validate() throws {
        let sizes: KeyValuePairs<String, Int> = ["vocab_size": vocabSize, "d_model": dModel, "n_head": numHeads,
                                                 "n_layer": numEncoderLayers, "num_decoder_layers": numDecoderLayers,
                                                 "intermediate_size": dimFeedforward, "max_seq_len": maxPositions]
        for (name, value) in sizes where value <= 0 { throw ModelError("model.\(name) is \(value); it must be at least 1") }
        guard dModel % numHeads == 0 else {
            throw ModelError("model.d_model \(dModel) is not divisible by model.n_head \(numHeads); pick a head count that divides it")
        }
        guard dModel % 2 == 0 else { throw ModelError("model.d_model is \(dModel); sinusoidal positions need an even d_model") }
        guard dropout >= 0, dropout < 1 else { throw ModelError("model.residual_dropout is \(dropout); it must be in [0, 1)") }
        guard labelSmoothing >= 0, labelSmoothing < 1 else {
            throw ModelError("model.label_smoothing is \(labelSmoothing); it must be in [0, 1)")
        }
        guard layerNormEps > 0 else { throw ModelError("model.layer_norm_eps is \(layerNormEps); it must be > 0") }
        guard padTokenId >= 0, Int(padTokenId) < vocabSize, eosTokenId >= 0, Int(eosTokenId) < vocabSize else {
            throw ModelError("the pad id \(padTokenId) or eos id \(eosTokenId) is outside model.vocab_size \(vocabSize)")
        }
    }

    /// The encoder's block: post-LayerNorm (`norm_first=False`), bidirectional self-attention with key
    /// padding scaled by 1/√hs, ReLU feed-forward, `nn.Linear` weights with biases, dropout everywhere
    /// nn.TransformerEncoderLayer has it.
    public var encoderBlock: BlockConfig {
        BlockConfig(C: dModel, NH: numHeads, I: dimFeedforward, placement: .post, norm: .layerNorm, eps: layerNormEps,
                    selfAttention: .padding, feedForward: .relu, orientation: .outIn,
                    residualDropout: dropout, attentionDropout: dropout, ffnDropout: dropout)
    }

    /// The decoder's block: the encoder's, with causal self-attention and cross-attention over the
    /// encoder's output (nn.TransformerDecoderLayer).
    public var decoderBlock: BlockConfig {
        var c = encoderBlock
        c.selfAttention = .causal
        c.crossAttention = true
        return c
    }
}
