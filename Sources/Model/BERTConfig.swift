/// The shape and options of a BERT-style encoder with a masked-LM head.
///
/// Defaults are BERT-base's (Hugging Face `BertConfig`), GELU is always the exact erf form. `validate()`
/// checks the whole config before anything is allocated and names the offending field and value. The
/// YAML keys are those of `model.*` (`vocab_size`, `max_seq_len`, `n_layer`, …), as for GPT.
public struct BERTConfig: Codable, Equatable, Sendable {
    /// Where the LayerNorms sit in each block.
    public enum Norm: String, Codable, Sendable, CaseIterable {
        /// BERT: x = LN(x + sublayer(x)) after each sublayer; no final LayerNorm.
        case post
        /// Pre-LN: x = x + sublayer(LN(x)), and a final LayerNorm (`bert.encoder.LayerNorm`, which has no
        /// Hugging Face BERT counterpart) before the heads.
        case pre
    }

    /// V: vocabulary size (rows of the word embedding, columns of the MLM logits).
    public var vocabSize = 30522
    /// P: rows of the learned position table, the longest sequence the model accepts.
    public var maxSeqLen = 512
    /// Rows of the segment (token-type) table; 2 for sentence A/B.
    public var typeVocabSize = 2
    /// L: number of encoder blocks.
    public var nLayer = 12
    /// NH: attention heads per block; must divide `dModel`.
    public var nHead = 12
    /// C: model width (hidden size).
    public var dModel = 768
    /// I: width of the feed-forward layer (BERT: 4·C).
    public var intermediateSize = 3072
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
        self.vocabSize = vocabSize
        self.maxSeqLen = maxSeqLen
        self.nLayer = nLayer
        self.nHead = nHead
        self.dModel = dModel
        intermediateSize = 4 * dModel
    }

    /// Labels of the sequence head on [CLS]: 2 for NSP, K for a classifier, 0 without one.
    public var sequenceLabels: Int { numLabels > 0 ? numLabels : (nsp ? 2 : 0) }

    /// Whether the model has the masked-LM head (every model but a classifier).
    public var hasMLMHead: Bool { numLabels == 0 }

    /// Head size hs = C / NH.
    public var headSize: Int { dModel / nHead }

    /// Checks every field; throws a `ModelError` naming the first bad one and the fix.
    public func validate() throws {
        func positive(_ value: Int, _ name: String) throws {
            guard value > 0 else { throw ModelError("model.\(name) is \(value); it must be at least 1") }
        }
        try positive(vocabSize, "vocab_size")
        try positive(maxSeqLen, "max_seq_len")
        try positive(typeVocabSize, "type_vocab_size")
        try positive(nLayer, "n_layer")
        try positive(nHead, "n_head")
        try positive(dModel, "d_model")
        try positive(intermediateSize, "intermediate_size")
        guard dModel % nHead == 0 else {
            throw ModelError("model.d_model is \(dModel), not divisible by model.n_head \(nHead); pick d_model a multiple of n_head (e.g. \(nHead * max(1, dModel / nHead)))")
        }
        guard numLabels >= 0 else { throw ModelError("the number of labels is \(numLabels); it must be at least 1 for a classifier") }
        guard numLabels == 0 || !nsp else {
            throw ModelError("model.nsp and a classification head exclude each other; fine-tuning replaces the pretraining heads")
        }
        for (name, p) in [("residual_dropout", hiddenDropout), ("attention_dropout", attentionDropout)] {
            guard p >= 0, p < 1 else { throw ModelError("model.\(name) is \(p); it must be in [0, 1)") }
        }
        guard layerNormEps > 0 else { throw ModelError("model.layer_norm_eps is \(layerNormEps); it must be > 0") }
    }

    /// Checks that a (B, T) batch fits this model; throws naming the value and the limit.
    public func validate(batch: Int, seqLen: Int) throws {
        guard batch > 0 else { throw ModelError("training.micro_batch is \(batch); it must be at least 1") }
        guard seqLen > 0 else { throw ModelError("training.seq_len is \(seqLen); it must be at least 1") }
        guard seqLen <= maxSeqLen else {
            throw ModelError("training.seq_len \(seqLen) is longer than model.max_seq_len \(maxSeqLen) (the position table); lower seq_len or raise max_seq_len")
        }
    }
}
