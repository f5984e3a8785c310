import DataPipeline
import Model

/// A model with a sequence-classification head as `FineTuner` trains it: BERT (on the pooled [CLS])
/// and GPT (on the last real token) conform, each turning a batch of tokenised texts into its own input.
///
/// Shapes: B batch, T tokens per sequence, W = `contentLength(sequenceLength: T)` text tokens per
/// example, K labels.
public protocol SequenceClassifier: LanguageModel {
    /// The model's config (a classifier when its number of labels is > 0).
    associatedtype Config
    /// What the model needs besides its own buffers to build a batch, made once (BERT: the
    /// `[CLS] text [SEP]` + padding-mask builder; GPT: nothing).
    associatedtype Input

    /// An uninitialised classifier for batches up to (microBatch, sequenceLength) and its input
    /// builder; one-line errors for a config without labels or a tokenizer that does not fit the model.
    static func makeClassifier(config: Config, tokenizer: HuggingFaceTokenizer, microBatch: Int, sequenceLength: Int,
                               seed: UInt64) throws -> (model: Self, input: Input)
    /// W: how many text tokens of an example fit in a sequence of T (BERT: T − 2; GPT: T).
    static func contentLength(sequenceLength: Int) -> Int
    /// Runs the classifier on `content` (B, W), whose row b holds an example's first `lengths[b]` text
    /// tokens and zeros after them; with `labels` (B) returns the mean cross-entropy, else 0. The
    /// logits are then in `sequenceLogits` (B, K). A model may adjust `lengths` to its input (GPT: an
    /// empty text is read as the one padding token 0).
    func classify(_ input: Input, content: UnsafePointer<Int32>, lengths: UnsafeMutablePointer<Int>,
                  labels: UnsafePointer<Int32>?, B: Int, T: Int) throws -> Float
    /// K: the number of labels.
    var numLabels: Int { get }
    /// The (B, K) logits of the last `classify`.
    var sequenceLogits: UnsafeMutablePointer<Float> { get }
    /// Dropout is applied only while training.
    var training: Bool { get set }
    /// Seed of the dropout masks.
    var dropoutSeed: UInt64 { get set }
    /// The first parameter of the head: a frozen body trains `classifierHeadStart..<layout.count` only.
    var classifierHeadStart: Int { get }
}

/// The message for a classifier config with no labels.
private let needsLabels = "fine-tuning needs a classifier: set the number of labels (--labels N)"

extension BERT: SequenceClassifier {
    public static func makeClassifier(config: BERTConfig, tokenizer: HuggingFaceTokenizer, microBatch: Int, sequenceLength: Int,
                                      seed: UInt64) throws -> (model: BERT, input: MLMMasker) {
        guard config.numLabels > 0 else { throw ModelError(needsLabels) }
        let specials = try BERTSpecialTokens(tokenizer: tokenizer)
        try tokenizer.checkFits(modelVocabularySize: config.vocabSize)
        let model = try BERT(config: config, maxBatch: microBatch, maxSeqLen: sequenceLength)
        let builder = try MLMMasker(microBatch: microBatch, sequenceLength: sequenceLength, vocabularySize: config.vocabSize,
                                    specials: specials, seed: seed)
        builder.maskRate = 0
        return (model, builder)
    }

    public static func contentLength(sequenceLength: Int) -> Int {
        MLMMasker.contentLength(sequenceLength: sequenceLength, nextSentence: false)
    }

    /// `[CLS] text [SEP]`, padded to T with an attention mask, classified on the pooled [CLS].
    public func classify(_ builder: MLMMasker, content: UnsafePointer<Int32>, lengths: UnsafeMutablePointer<Int>,
                         labels: UnsafePointer<Int32>?, B: Int, T: Int) throws -> Float {
        builder.build(content: content, contentLength: Self.contentLength(sequenceLength: T), lengths: lengths, firstSequence: 0)
        return try forward(tokens: builder.tokens.baseAddress!, segments: nil, attentionMask: builder.attentionMask.baseAddress!,
                           targets: nil, sequenceLabels: labels, B: B, T: T)
    }

    public var numLabels: Int { config.numLabels }
    /// The pooler and classifier (after the final LayerNorm in pre-LN, which belongs to the body).
    public var classifierHeadStart: Int { layout.headStart + (config.norm == .pre ? 2 * config.dModel : 0) }
}

extension GPT: SequenceClassifier {
    public static func makeClassifier(config: GPTConfig, tokenizer: HuggingFaceTokenizer, microBatch: Int, sequenceLength: Int,
                                      seed: UInt64) throws -> (model: GPT, input: Void) {
        guard config.numLabels > 0 else { throw ModelError(needsLabels) }
        try tokenizer.checkFits(modelVocabularySize: config.vocabSize)
        return (try GPT(config: config, maxBatch: microBatch, maxSeqLen: sequenceLength), ())
    }

    public static func contentLength(sequenceLength: Int) -> Int { sequenceLength }

    /// The text's tokens padded with 0 (causal attention never looks right, so any id would do),
    /// classified at position length − 1.
    public func classify(_: Void, content: UnsafePointer<Int32>, lengths: UnsafeMutablePointer<Int>,
                         labels: UnsafePointer<Int32>?, B: Int, T: Int) throws -> Float {
        for b in 0..<B where lengths[b] == 0 { lengths[b] = 1 }
        return try forward(tokens: content, lengths: lengths, labels: labels, B: B, T: T)
    }

    public var numLabels: Int { config.numLabels }
    /// `score.weight`: with a frozen body only the new head trains (ln_f stays as pretrained).
    public var classifierHeadStart: Int { layout.score ?? layout.count }
}
