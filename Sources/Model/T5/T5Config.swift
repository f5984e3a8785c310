/// The shape and options of a T5 encoder-decoder (Hugging Face `T5Config`'s fields and defaults,
/// t5-small's shape).
///
/// Shapes: V vocabulary, C = d_model, hs = d_kv, NH heads, D = NH·hs the attention width (T5 lets it
/// differ from C), F = d_ff, L encoder and Ld decoder layers. `validate()` checks every field before
/// anything is allocated and names the offending `model.` key.
public struct T5Config: Codable, Equatable, Sendable {
    /// The feed-forward sublayer (`feed_forward_proj`).
    public enum FeedForward: String, Codable, Sendable, CaseIterable {
        /// T5 v1.0: wo(relu(wi(x))).
        case relu
        /// T5 v1.1 / Flan-T5: wo(gelu_new(wi_0(x)) ⊙ wi_1(x)).
        case gatedGELU = "gated-gelu"
    }

    /// The shape (t5-small's): V vocabulary size (rows of the shared embedding, columns of the logits),
    /// C model width, hs size of each attention head (`d_kv`), F feed-forward width, L encoder layers
    /// (`num_layers`), Ld decoder layers (`num_decoder_layers`), NH attention heads.
    public var vocabSize = 32128, dModel = 512, dKV = 64, dFF = 2048, numLayers = 6, numDecoderLayers = 6, numHeads = 8
    /// The relative position bias: its buckets (half per direction in the encoder), and the distance
    /// from which on positions share the last bucket.
    public var relativeAttentionNumBuckets = 32, relativeAttentionMaxDistance = 128
    /// ReLU (v1.0) or gated GELU (v1.1).
    public var feedForward = FeedForward.relu
    /// The LM head is the shared embedding, and the decoder output is scaled by d_model^-0.5 before it.
    public var tieWordEmbeddings = true
    /// RMS norm epsilon (`layer_norm_epsilon`).
    public var layerNormEps: Float = 1e-6
    /// `dropout_rate`: on the embeddings, each sublayer's output, the attention probabilities and the
    /// final norms' outputs, as Hugging Face applies it (0 = off).
    public var dropoutRate: Float = 0
    /// The padding id (also the decoder's start token) and the end-of-sequence id.
    public var padTokenId: Int32 = 0, eosTokenId: Int32 = 1
    /// Targets equal to this id are left out of the loss.
    public var ignoreIndex: Int32 = -100

    public init() {}

    /// `decoder_start_token_id`: T5 starts decoding from the padding id.
    public var decoderStartTokenId: Int32 { padTokenId }

    /// D = NH·hs, the width of q, k, v and the attention output.
    public var attentionWidth: Int { numHeads * dKV }

    /// Checks every field; throws a `ModelError` naming the first bad one and the fix.
    public func validate() throws {
        let sizes: KeyValuePairs<String, Int> = ["vocab_size": vocabSize, "d_model": dModel, "d_kv": dKV, "d_ff": dFF,
                                                 "num_layers": numLayers, "num_decoder_layers": numDecoderLayers,
                                                 "num_heads": numHeads, "relative_attention_num_buckets": relativeAttentionNumBuckets,
                                                 "relative_attention_max_distance": relativeAttentionMaxDistance]
        for (name, value) in sizes where value <= 0 { throw ModelError("model.\(name) is \(value); it must be at least 1") }
        guard relativeAttentionNumBuckets >= 4 else {
            throw ModelError("model.relative_attention_num_buckets is \(relativeAttentionNumBuckets); T5's bidirectional buckets need at least 4")
        }
        guard relativeAttentionMaxDistance > relativeAttentionNumBuckets / 2 else {
            throw ModelError("model.relative_attention_max_distance is \(relativeAttentionMaxDistance); it must exceed half of relative_attention_num_buckets (\(relativeAttentionNumBuckets / 2))")
        }
        guard dropoutRate >= 0, dropoutRate < 1 else { throw ModelError("model.dropout_rate is \(dropoutRate); it must be in [0, 1)") }
        guard layerNormEps > 0 else { throw ModelError("model.layer_norm_eps is \(layerNormEps); it must be > 0") }
        guard padTokenId >= 0, Int(padTokenId) < vocabSize, eosTokenId >= 0, Int(eosTokenId) < vocabSize else {
            throw ModelError("the pad id \(padTokenId) or eos id \(eosTokenId) is outside model.vocab_size \(vocabSize)")
        }
    }

    /// The encoder's block: pre-norm RMS, bidirectional self-attention with key padding and no 1/√d
    /// scale, the feed-forward of `feedForward`, `nn.Linear` weights without biases.
    public var encoderBlock: BlockConfig {
        BlockConfig(C: dModel, NH: numHeads, hs: dKV, I: dFF, placement: .pre, norm: .rmsNorm, eps: layerNormEps,
                    selfAttention: .padding, feedForward: feedForward == .relu ? .relu : .gatedGELU(.tanh), orientation: .outIn,
                    attentionScale: 1, residualDropout: dropoutRate, attentionDropout: dropoutRate)
    }

    /// The decoder's block: the encoder's, with causal self-attention and cross-attention over the encoder.
    public var decoderBlock: BlockConfig {
        var c = encoderBlock
        c.selfAttention = .causal
        c.crossAttention = true
        return c
    }
}
