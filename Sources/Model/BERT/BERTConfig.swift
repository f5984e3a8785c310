/// The shape and options of a BERT-style encoder with a masked-LM head.
///
/// Defaults are BERT-base's (Hugging Face `BertConfig`), GELU is always the exact erf form. `validate()`
/// checks the whole config before anything is allocated and names the offending field and value. The
/// YAML keys are those of `model.*` (`vocab_size`, `max_seq_len`, `n_layer`, …), as for GPT.
public struct BERTConfig: ModelShape, Codable, Equatable, Sendable {
    /// Where the LayerNorms sit in each block.
    public enum Norm: String, Codable, Sendable, CaseIterable {
        /// BERT: x = LN(x + sublayer(x)) after each sublayer; no final LayerNorm.
        case post
        /// Pre-LN: x = x + sublayer(LN(x)), and a final LayerNorm (`bert.encoder.LayerNorm`, which has no
        /// Hugging Face BERT counterpart) before the heads.
        case pre
    }

    /// The shape (BERT-base's): V vocabulary size (rows of the word embedding, columns of the MLM
    /// logits), P rows of the learned position table (the longest sequence), L encoder blocks, NH
    /// attention heads per block (must divide C), C model width (hidden size), I feed-forward width (4·C).
    public var vocabSize = 30522, maxSeqLen = 512, nLayer = 12, nHead = 12, dModel = 768, intermediateSize = 3072
    /// Rows of the segment (token-type) table; 2 for sentence A/B.
    public var typeVocabSize = 2
    /// Post-LN (BERT) or pre-LN blocks.
    public var norm = Norm.post
    /// Adds the pooler (dense + tanh on [CLS]) and the next-sentence-prediction head.
    public var nsp = false
    /// K > 0 makes this a sequence classifier (`BertForSequenceClassification`): the pooler and a
    /// (K, C) classifier on [CLS] replace the MLM head. 0 (the default) keeps the pretraining heads.
    public var numLabels = 0
    /// Hugging Face's `hidden_dropout_prob`: dropout on the embedding output, on each sublayer's output
    /// before its residual add, and on the pooled [CLS] before a classifier (0 = off, the default).
    public var hiddenDropout: Float = 0
    /// Hugging Face's `attention_probs_dropout_prob`: dropout on the attention weights (0 = off).
    public var attentionDropout: Float = 0
    /// LayerNorm epsilon (BERT: 1e-12).
    public var layerNormEps: Float = 1e-12
    /// Targets equal to this id are left out of the loss (unmasked positions, padding).
    public var ignoreIndex: Int32 = -100

    public init() {}

    /// A config with the given shape, I = 4·C, and defaults elsewhere.
    public init(vocabSize: Int, maxSeqLen: Int, nLayer: Int, nHead: Int, dModel: Int) {
        self.init()
        setShape(vocabSize: vocabSize, maxSeqLen: maxSeqLen, nLayer: nLayer, nHead: nHead, dModel: dModel)
        intermediateSize = 4 * dModel
    }

    /// Labels of the sequence head on [CLS]: 2 for NSP, K for a classifier, 0 without one.
    public var sequenceLabels: Int { numLabels > 0 ? numLabels : (nsp ? 2 : 0) }

    /// Whether the model has the masked-LM head (every model but a classifier).
    public var hasMLMHead: Bool { numLabels == 0 }

    /// Checks every field; throws a `ModelError` naming the first bad one and the fix.
    public func validate() throws {
        try checkPositive(["vocab_size": vocabSize, "max_seq_len": maxSeqLen, "type_vocab_size": typeVocabSize,
                           "n_layer": nLayer, "n_head": nHead, "d_model": dModel, "intermediate_size": intermediateSize])
        try checkHeadsDivideWidth()
        guard numLabels >= 0 else { throw ModelError("the number of labels is \(numLabels); it must be at least 1 for a classifier") }
        guard numLabels == 0 || !nsp else {
            throw ModelError("model.nsp and a classification head exclude each other; fine-tuning replaces the pretraining heads")
        }
        try checkProbabilities(["residual_dropout": hiddenDropout, "attention_dropout": attentionDropout])
        try checkLayerNormEps()
    }
}
