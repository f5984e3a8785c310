import DataPipeline
import Foundation
import Model

/// Fill-mask (a BERT masked-LM checkpoint), classification (a fine-tuned BERT or GPT checkpoint) and
/// feature extraction (any BERT checkpoint) of texts: the workflow of `pretrain predict`, returning
/// structured predictions. The model and tokenizer are loaded once, on the first text.
///
/// BERT encodes the text as `[CLS] text [SEP]`, truncated to model.max_seq_len; a fine-tuned GPT reads
/// the text's tokens as fine-tuning did, truncated to its training.seq_len, and classifies on the last.
/// Errors are one line (exit status 2) naming the checkpoint and what to use instead.
public final class TextPredictor {
    /// What to predict.
    public enum Task: String {
        /// The top-k tokens of every [MASK] (BERT masked LM only).
        case fillMask = "fill-mask"
        /// The label of the whole text (a fine-tuned classifier).
        case classify
        /// The last hidden state, or one pooled vector (any BERT checkpoint).
        case featureExtraction = "feature-extraction"

        /// Generated text (T5), under Hugging Face pipeline's three names; all decode with `generation`.
        case text2text = "text2text-generation", translation, summarization

        /// Whether the task generates text.
        public var generates: Bool { self == .text2text || self == .translation || self == .summarization }

        /// The field Hugging Face's pipeline of this task puts each generated text under.
        public var outputField: String {
            switch self {
            case .translation: "translation_text"
            case .summarization: "summary_text"
            default: "generated_text"
            }
        }
    }

    /// The checkpoint predicting.
    public let checkpoint: ModelCheckpoint
    /// A tokenizer.json to use instead of the checkpoint's.
    public let tokenizerPath: String?
    /// feature-extraction: how the hidden states become the output, and whether vectors are L2-normalised.
    public var pooling = FeaturePooling.none, normalize = false
    private var loaded: (tokenizer: HuggingFaceTokenizer, specials: BERTSpecialTokens)?
    private var model: BERT?

    /// Generation: greedy, sampling or beam search, with Hugging Face `generate`'s settings.
    public var generation = GenerationSettings()
    /// Generation: new tokens at most (EOS ends earlier).
    public var maxNewTokens: Int {
        get { generation.maxNewTokens }
        set { generation.maxNewTokens = newValue }
    }
    /// Generation: the sampler, created on the first sampled text and kept, so that a seed gives one
    /// stream over all the texts.
    var sampler: TokenSampler?
    /// T5: the task prefix put before each text that does not already start with it; nil: the
    /// checkpoint's `data.source_prefix` (what it was fine-tuned with), as Hugging Face's text2text
    /// pipelines put `config.prefix` before their inputs.
    public var prefix: String?

    /// A predictor over `checkpoint`, with `tokenizer` instead of the checkpoint's own if given.
    public init(checkpoint: ModelCheckpoint, tokenizer: String? = nil) {
        self.checkpoint = checkpoint
        self.tokenizerPath = tokenizer
    }

    /// Runs `task` on `text` (fill-mask: `topK` candidates per [MASK]); `warn` hears that the text was
    /// truncated (one line, without a "warning:" prefix).
    public func predict(_ text: String, task: Task, topK: Int, warn: (String) -> Void = { _ in }) throws -> TextPrediction {
        guard task.generates == (checkpoint.architecture == .t5 || checkpoint.architecture == .transformer) else {
            throw TrainingError(task.generates
                ? "\(checkpoint.directory) is a \(checkpoint.architecture.displayName) checkpoint; --task \(task.rawValue) generates text with a T5 or Transformer checkpoint — use fill-mask or classify here"
                : "\(checkpoint.directory) is a \(checkpoint.architecture.displayName) checkpoint; it generates text (--task text2text-generation, translation or summarization), it does not \(task.rawValue)", exitCode: 2)
        }
        switch checkpoint.architecture {
        case .gpt: return try classifyGPT(text, task: task, warn: warn)
        case .bert: break
        case .t5: return try generateT5(text, task: task)
        case .transformer: return try generateTransformer(text, task: task)
        }
        let run = checkpoint.config, directory = checkpoint.directory
        if loaded == nil { loaded = try checkpoint.bertTokenizer(explicit: tokenizerPath) }
        let (tok, specials) = loaded!
        var ids = [specials.cls] + tok.encode(text, addSpecialTokens: false)
        if ids.count + 1 > run.model.maxSeqLen {
            warn("the text has \(ids.count - 1) tokens; only the first \(run.model.maxSeqLen - 2) fit (model.max_seq_len \(run.model.maxSeqLen))")
            ids = Array(ids.prefix(run.model.maxSeqLen - 1))
        }
        ids.append(specials.sep)
        let isClassifier = run.family.numLabels > 0
        if task == .fillMask, isClassifier {
            throw TrainingError("\(directory) is a fine-tuned classifier (model.num_labels \(run.family.numLabels)) without the masked-LM head; use --task classify, or a pretrained (pretrain train) checkpoint for fill-mask", exitCode: 2)
        }
        if task == .classify, !isClassifier {
            throw TrainingError("\(directory) is a masked-LM checkpoint with no classifier head; fine-tune it first (pretrain finetune --task classify), or use --task fill-mask", exitCode: 2)
        }
        let masks = ids.indices.filter { ids[$0] == specials.mask }
        if task == .fillMask, masks.isEmpty {
            throw TrainingError("the text has no [MASK] token; write [MASK] where a word should be predicted", exitCode: 2)
        }
        if model == nil { model = try checkpoint.bert(batch: 1, seqLen: run.model.maxSeqLen) }
        let model = model!
        do {
            try model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: nil, B: 1, T: ids.count)
        } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        }
        if task == .featureExtraction {
            return .features(pooling.apply(model.lastHiddenState, T: ids.count, C: model.config.dModel, normalize: normalize), pooled: pooling != .none)
        }
        guard task == .fillMask else { return .label(LabelPrediction(logits: model.sequenceLogits, run: run)) }
        let V = model.config.vocabSize
        return .masks(masks.map { position in
            let probabilities = Self.softmax(model.logits + position * V, count: V)
            let candidates = Self.mostLikely(topK, of: probabilities).map { id in
                MaskPrediction.Candidate(id: id, text: tok.decode([Int32(id)], skipSpecialTokens: false),
                                         probability: probabilities[id])
            }
            return MaskPrediction(position: position, candidates: candidates)
        })
    }

    /// classify with a fine-tuned GPT: the text's tokens (no specials), classified on the last.
    private func classifyGPT(_ text: String, task: Task, warn: (String) -> Void) throws -> TextPrediction {
        let run = checkpoint.config, directory = checkpoint.directory
        guard task == .classify else {
            throw TrainingError("\(directory) is a GPT checkpoint (model.arch gpt); \(task.rawValue) needs a BERT checkpoint — use `pretrain generate` to continue text with a GPT", exitCode: 2)
        }
        guard run.family.numLabels > 0 else {
            throw TrainingError("\(directory) is a GPT language model with no classifier head; fine-tune it first (pretrain finetune --task classify), or use `pretrain generate`", exitCode: 2)
        }
        let tok = try checkpoint.tokenizer(explicit: tokenizerPath)
        var ids = tok.encode(text, addSpecialTokens: false)
        let T = min(run.training.seqLen, run.model.maxSeqLen)
        if ids.count > T {
            warn("the text has \(ids.count) tokens; only the first \(T) are read (training.seq_len of the fine-tuning)")
            ids = Array(ids.prefix(T))
        }
        if ids.isEmpty { ids = [0] }  // as fine-tuning reads an empty text: the padding token alone
        let model = try checkpoint.gpt(batch: 1, seqLen: ids.count, allowClassifier: true)
        do {
            try model.forward(tokens: ids, lengths: [ids.count], labels: nil, B: 1, T: ids.count)
        } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        }
        return .label(LabelPrediction(logits: model.sequenceLogits, run: run))
    }

    /// Softmax of `count` logits, in double precision.
    public static func softmax(_ logits: UnsafePointer<Float>, count: Int) -> [Double] {
        var top = -Double.infinity
        for i in 0..<count { top = max(top, Double(logits[i])) }
        var e = (0..<count).map { exp(Double(logits[$0]) - top) }
        let sum = e.reduce(0, +)
        for i in e.indices { e[i] /= sum }
        return e
    }

    /// The indices of the `k` largest probabilities, largest first; equal ones in index order.
    public static func mostLikely(_ k: Int, of probabilities: [Double]) -> [Int] {
        Array(probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }.prefix(k))
    }
}
