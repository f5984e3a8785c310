import Config
import DataPipeline
import Model

/// What one micro-step computes for the configured family: a GPT on next-token targets (clm), or a
/// BERT on dynamically masked inputs (mlm, optionally with next-sentence prediction).
///
/// The loader reads `loaderSequenceLength` tokens per row: T for clm, the content of `[CLS] A [SEP]`
/// (T − 2, or T − 3 with NSP) for mlm. Masks are keyed by each row's index in the global data stream
/// (see `MLMMasker`), so N ranks equal 1 rank and a resumed run repeats an uninterrupted one.
final class TrainingObjective {
    /// The model, whichever family.
    let model: any LanguageModel
    private let gpt: GPT?
    private let bert: BERT?
    private let masker: MLMMasker?
    private let B: Int, T: Int
    private let seed: UInt64

    /// Tokens per row the data loaders must read for `config`.
    static func loaderSequenceLength(_ config: RunConfig) -> Int {
        config.family.arch == "bert"
            ? MLMMasker.contentLength(sequenceLength: config.training.seqLen, nextSentence: config.family.nsp)
            : config.training.seqLen
    }

    /// Training FLOPs per token (forward + backward, the 6N + 12·L·C·T estimate of PaLM's appendix B).
    /// BERT's tied decoder (V·C) runs only on the chosen rows, a `training.mask_rate` share of tokens.
    static func flopsPerToken(_ config: RunConfig, parameters: Int) -> Double {
        let m = config.model
        let attention = 12.0 * Double(m.nLayer * m.dModel * config.training.seqLen)
        guard config.family.arch == "bert" else { return 6.0 * Double(parameters) + attention }
        let decoder = Double(m.vocabSize * m.dModel)
        return 6.0 * (Double(parameters) - decoder + decoder * config.family.maskRate) + attention
    }

    /// Builds and initialises the model (and, for BERT, the masker from the tokenizer's special ids).
    init(config: RunConfig) throws {
        let t = config.training
        B = t.microBatch; T = t.seqLen; seed = UInt64(t.seed)
        do {
            if config.family.arch == "bert" {
                guard config.family.numLabels == 0 else {
                    throw TrainingError("model.num_labels is \(config.family.numLabels): pretrain train trains the masked-LM heads; fine-tune a classifier with `pretrain finetune` (set model.num_labels: 0)")
                }
                let path = config.data.tokenizer
                guard !path.isEmpty else {
                    throw TrainingError("data.tokenizer is empty; a BERT run reads the [CLS] [SEP] [MASK] [PAD] ids from it — set it to the tokenizer.json written by `pretrain data prepare`")
                }
                let specials = try BERTSpecialTokens(tokenizer: Tokenizer.load(from: path))
                let m = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: config.model.vocabSize, specials: specials,
                                      seed: seed, nextSentence: config.family.nsp)
                m.maskRate = config.family.maskRate
                let model = try BERT(config: config.bertConfig, maxBatch: B, maxSeqLen: T)
                masker = m; bert = model; gpt = nil
                self.model = model
            } else {
                guard config.family.numLabels == 0 else {
                    throw TrainingError("model.num_labels is \(config.family.numLabels): pretrain train trains a GPT language model; fine-tune a classifier with `pretrain finetune` (set model.num_labels: 0)")
                }
                let model = try GPT(config: config.model, maxBatch: B, maxSeqLen: T)
                masker = nil; bert = nil; gpt = model
                self.model = model
            }
        } catch let e as ModelError {
            throw TrainingError(e.message)
        } catch let e as DataError {
            throw TrainingError("\(e)")
        }
        model.initializeWeights(seed: seed)
    }

    /// Dropout is applied while training.
    var training: Bool {
        get { gpt?.training ?? bert?.training ?? false }
        set { gpt?.training = newValue; bert?.training = newValue }
    }

    /// Forward on the loader's current micro-batch (after its `next()`); returns the loss.
    /// `step`/`micro` seed GPT's dropout as the loop always did.
    func forward(_ loader: DistributedDataLoader, step: Int, micro: Int) throws -> Float {
        let dropoutSeed = seed &* 0x9E37_79B9 &+ UInt64(step) &* 1_000_003 &+ UInt64(micro * loader.worldSize + loader.rank) &* 7919
        if let gpt {
            gpt.dropoutSeed = dropoutSeed
            return try gpt.forward(tokens: loader.inputs.baseAddress!, targets: loader.targets.baseAddress!, B: B, T: T)
        }
        guard let bert, let masker else { preconditionFailure("no model") }
        bert.dropoutSeed = dropoutSeed
        // The stream index of this rank's first row: `next()` has already advanced past the round.
        let first = loader.position.sequencesRead - loader.worldSize * loader.microBatch + loader.rank * loader.microBatch
        masker.build(content: loader.inputs.baseAddress!, contentLength: loader.sequenceLength, firstSequence: UInt64(first))
        return try bert.forward(tokens: masker.tokens.baseAddress!, segments: masker.segments.baseAddress!,
                                attentionMask: masker.attentionMask.baseAddress!, targets: masker.targets.baseAddress!,
                                sequenceLabels: masker.nextSentence ? masker.nextSentenceLabels.baseAddress! : nil, B: B, T: T)
    }
}
