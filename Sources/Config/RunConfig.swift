import Model

/// Everything one run needs, in the sections of the YAML file that describes it.
///
/// Field defaults here are the documented defaults; `ConfigSchema` maps each YAML key onto one field
/// (with its type, range and help text), so this struct, the file format, `--set` and
/// `pretrain config --explain` cannot drift apart.
public struct RunConfig: Equatable, Sendable {
    /// How the job is started (Hugging Face Accelerate's keys and meanings).
    public struct Launch: Equatable, Sendable {
        public var computeEnvironment = "LOCAL_MACHINE"
        public var distributedType = "MULTI_CPU"
        public var numProcesses = 2
        public var numMachines = 1
        public var machineRank = 0
        public var mainProcessIP = ""
        public var mainProcessPort = 29500
        public var mixedPrecision = "no"
        public var useCPU = true
        public var enableCPUAffinity = false
        public var threadsPerProcess = 0
        public var mpirunHostfile = ""
        public var debug = false
    }

    /// Data sources.
    public struct DataSection: Equatable, Sendable {
        public var train = "data/fortunes/train_*.bin"
        public var val = "data/fortunes/val_*.bin"
        public var tokenizer = "data/fortunes/tokenizer.json"
        public var shuffle = true
        /// Seq2seq: the task prefix put before each source ("translate English to German: ").
        public var sourcePrefix = ""
    }

    /// AdamW hyperparameters.
    public var optimizer = Optimizer.Settings()

    /// Learning-rate schedule.
    public struct Schedule: Equatable, Sendable {
        public var kind = ScheduleKind.cosine
        public var warmupSteps = 10
        public var minLRRatio: Float = 0.1
        public var noamScale: Float = 1
    }

    /// Batch shape, length and cadence of the run.
    public struct Training: Equatable, Sendable {
        public var steps = 200, microBatch = 8, seqLen = 128, globalBatch = 0, gradientAccumulationSteps = 1
        /// Seq2seq: target tokens per pair, EOS included (0 = seq_len).
        public var targetLen = 0
        public var seed = 1337
        public var evalInterval = 50, evalSteps = 10
        public var bucketMB = 25.0
        public var zero1 = false
        public var gradCompression = GradCompression.none
        public var checksumInterval = 100
        public var watchdogSeconds = 600.0
        public var maxBadSteps = 5
    }

    /// Checkpoint directory, cadence, retention and compression.
    public struct CheckpointSection: Equatable, Sendable {
        /// Empty: `<logging.run_dir>/checkpoints`.
        public var dir = ""
        public var every = 0
        public var keepLast = 3
        public var compression = "zstd"
        public var level = 1
        public var threads = 0
    }

    /// Where and how often the run reports.
    public struct Logging: Equatable, Sendable {
        public var runDir = "runs/default"
        public var interval = 10
        public var timeline = false
    }

    /// Which model family and objective: GPT with causal LM, or BERT with masked LM (YAML keys
    /// `model.arch`, `model.norm`, `model.nsp`, `model.intermediate_size`, `model.type_vocab_size`,
    /// `training.objective`, `training.mask_rate`). The shared shape keys stay in `model`.
    public struct Family: Equatable, Sendable {
        public var arch = Architecture.gpt
        public var norm = NormSetting.auto
        public var nsp = false
        public var intermediateSize = 0
        public var typeVocabSize = 2
        public var objective = ObjectiveSetting.auto
        public var maskRate = 0.15
        /// K > 0: a fine-tuned classifier with K labels, BERT or GPT (written by `pretrain finetune`).
        public var numLabels = 0
        /// The classifier's label names, comma-separated, in id order ('' = the ids).
        public var labelNames = ""
        /// T5 (`model.*` keys named as Hugging Face's `T5Config`): head size (0 = d_model / n_head),
        /// decoder layers (0 = n_layer), the relative position buckets, the feed-forward, tied embeddings.
        public var dKV = 0
        public var numDecoderLayers = 0
        public var relativeAttentionNumBuckets = 32
        public var relativeAttentionMaxDistance = 128
        public var feedForwardProj = T5Config.FeedForward.relu
        public var tieWordEmbeddings = true
        /// Span corruption: share of tokens dropped and mean length of a dropped span.
        public var noiseDensity = 0.15
        public var meanNoiseSpanLength = 3.0
    }

    public var launch = Launch()
    /// `model.preset`: the named size the shape keys came from (`none`: each key's own default).
    public var modelPreset = ModelPreset.none
    /// The shape and options of the model; the defaults are the tiny preset's shape, a run of minutes.
    public var model = ModelPreset.tiny.apply(to: GPTConfig())
    public var data = DataSection()
    public var schedule = Schedule()
    public var training = Training()
    public var checkpoint = CheckpointSection()
    public var logging = Logging()
    public var family = Family()

    public init() {}

    /// The BERT model this config describes (`model.*` shape keys plus the family keys); meaningful
    /// when `family.arch` is bert.
    public var bertConfig: BERTConfig {
        var c = BERTConfig(vocabSize: model.vocabSize, maxSeqLen: model.maxSeqLen, nLayer: model.nLayer,
                           nHead: model.nHead, dModel: model.dModel)
        if family.intermediateSize > 0 { c.intermediateSize = family.intermediateSize }
        (c.typeVocabSize, c.nsp, c.numLabels) = (family.typeVocabSize, family.nsp, family.numLabels)
        c.norm = family.norm == .pre ? .pre : .post
        (c.layerNormEps, c.hiddenDropout, c.attentionDropout) = (model.layerNormEps, model.residualDropout, model.attentionDropout)
        return c
    }

    /// The T5 model this config describes (`model.*` shape keys plus the family keys; `model.n_layer`
    /// is num_layers, `model.intermediate_size` d_ff (0 = 4 × d_model), `model.residual_dropout`
    /// dropout_rate); meaningful when `family.arch` is t5. Pad and EOS ids keep T5's 0 and 1 until the
    /// tokenizer sets them.
    public var t5Config: T5Config {
        var c = T5Config()
        (c.vocabSize, c.dModel, c.numHeads, c.numLayers) = (model.vocabSize, model.dModel, model.nHead, model.nLayer)
        c.dKV = family.dKV > 0 ? family.dKV : model.dModel / max(1, model.nHead)
        c.dFF = family.intermediateSize > 0 ? family.intermediateSize : 4 * model.dModel
        c.numDecoderLayers = family.numDecoderLayers > 0 ? family.numDecoderLayers : model.nLayer
        (c.relativeAttentionNumBuckets, c.relativeAttentionMaxDistance) = (family.relativeAttentionNumBuckets, family.relativeAttentionMaxDistance)
        (c.feedForward, c.tieWordEmbeddings) = (family.feedForwardProj, family.tieWordEmbeddings)
        (c.layerNormEps, c.dropoutRate) = (model.layerNormEps, model.residualDropout)
        return c
    }

    /// The GPT model this config describes: the `model.*` keys plus `model.num_labels` (K > 0: a
    /// fine-tuned sequence classifier, as `pretrain finetune` writes it). Meaningful when `family.arch` is gpt.
    public var gptConfig: GPTConfig {
        var c = model
        c.numLabels = family.numLabels
        return c
    }

    /// The paper's Transformer this config describes (`model.*` keys as nn.Transformer's arguments:
    /// `n_layer` num_encoder_layers, `num_decoder_layers` (0 = n_layer), `intermediate_size`
    /// dim_feedforward (0 = 4 × d_model), `residual_dropout` dropout, `max_seq_len` the position table);
    /// meaningful when `family.arch` is transformer. Pad and EOS ids are set from the tokenizer.
    public var transformerConfig: TransformerConfig {
        var c = TransformerConfig()
        c.vocabSize = model.vocabSize
        c.dModel = model.dModel
        c.numHeads = model.nHead
        c.numEncoderLayers = model.nLayer
        c.numDecoderLayers = family.numDecoderLayers > 0 ? family.numDecoderLayers : model.nLayer
        c.dimFeedforward = family.intermediateSize > 0 ? family.intermediateSize : 4 * model.dModel
        c.dropout = model.residualDropout
        c.maxPositions = model.maxSeqLen
        c.layerNormEps = model.layerNormEps
        c.labelSmoothing = model.labelSmoothing
        return c
    }

    /// The training objective after `auto`: clm for gpt, mlm for bert, span corruption for t5, seq2seq
    /// for transformer.
    public var objective: Objective {
        switch family.objective {
        case .clm: .clm
        case .mlm: .mlm
        case .spanCorruption: .spanCorruption
        case .seq2seq: .seq2seq
        case .auto:
            switch family.arch {
            case .gpt: .clm
            case .bert: .mlm
            case .t5: .spanCorruption
            case .transformer: .seq2seq
            }
        }
    }
}
