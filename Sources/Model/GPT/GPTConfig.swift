/// The shape and options of a GPT-2-style transformer.
///
/// Every field has the GPT-2 124M default. `validate()` checks the whole config before anything is
/// allocated and names the offending field and value.
public struct GPTConfig: ModelShape, Codable, Equatable, Sendable {
    /// How token positions enter the model.
    public enum Positions: String, Codable, Sendable, CaseIterable {
        /// A learned (P, C) table, as GPT-2.
        case learned
        /// The fixed sin/cos table of "Attention Is All You Need"; no parameters.
        case sinusoidal
    }

    /// The shape (GPT-2 124M's): V vocabulary size (rows of the token embedding, columns of the logits),
    /// P rows of the position table (the longest sequence the model accepts), L transformer blocks,
    /// NH attention heads per block (must divide C), C model width.
    public var vocabSize = 50257, maxSeqLen = 1024, nLayer = 12, nHead = 12, dModel = 768
    /// Learned or sinusoidal positions.
    public var positions = Positions.learned
    /// Causal (GPT) or bidirectional (BERT-style encoder) self-attention.
    public var causal = true
    /// LayerNorm epsilon.
    public var layerNormEps: Float = 1e-5
    /// Dropout probabilities (0 = off, the default): on the embedding output; on each residual branch
    /// (attention and MLP outputs) before the add; on the attention weights (after the softmax).
    public var embeddingDropout: Float = 0, residualDropout: Float = 0, attentionDropout: Float = 0
    /// Label smoothing ε of the cross-entropy loss (0 = off).
    public var labelSmoothing: Float = 0
    /// Targets equal to this id are left out of the loss (padding).
    public var ignoreIndex: Int32 = -100
    /// K: 0 = a language model (the tied LM head); K > 0 = a sequence classifier whose (K, C) `score`
    /// head reads the last real token of each sequence (Hugging Face GPT2ForSequenceClassification).
    public var numLabels = 0

    public init() {}

    /// A config with the given shape and defaults elsewhere.
    public init(vocabSize: Int, maxSeqLen: Int, nLayer: Int, nHead: Int, dModel: Int) {
        self.init()
        setShape(vocabSize: vocabSize, maxSeqLen: maxSeqLen, nLayer: nLayer, nHead: nHead, dModel: dModel)
    }

    /// Checks every field; throws a `ModelError` naming the first bad one and the fix.
    public func validate() throws {
        try checkPositive(["vocab_size": vocabSize, "max_seq_len": maxSeqLen, "n_layer": nLayer, "n_head": nHead,
                           "d_model": dModel])
        try checkHeadsDivideWidth()
        if positions == .sinusoidal, dModel % 2 != 0 {
            throw ModelError("model.d_model is \(dModel); sinusoidal positions need an even d_model")
        }
        try checkProbabilities(["embedding_dropout": embeddingDropout, "residual_dropout": residualDropout,
                                "attention_dropout": attentionDropout, "label_smoothing": labelSmoothing])
        guard numLabels >= 0 else { throw ModelError("model.num_labels is \(numLabels); it must be 0 (a language model) or the number of labels") }
        try checkLayerNormEps()
    }
}
