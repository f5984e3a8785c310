import Checkpoint
import Config
import DataPipeline
import Model

/// T5: an encoder-decoder trained with span corruption (`training.objective: span_corruption`),
/// exported to and imported from Hugging Face `T5ForConditionalGeneration` directories.
///
/// `training.seq_len` is the encoder's input length S (T5's `inputs_length`); each row reads the L raw
/// tokens whose corruption fills S exactly (Hugging Face's `compute_input_and_target_lengths`), and
/// the decoder's target length T follows from the noise density and mean span length.
public enum T5Family: ModelFamily {
    public static let architecture = Architecture.t5

    public static func parameterTable(_ config: RunConfig) -> any ParameterTable { T5Layout(config: config.t5Config) }

    /// The sentinels, pad and EOS come from the run's tokenizer (`pretrain data prepare --extra-ids 100`).
    public static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective {
        let path = try requiredTokenizer(config, "a T5 run reads the pad, EOS and <extra_id_N> sentinel ids", preparedBy: "pretrain data prepare --extra-ids 100")
        let t = config.training, f = config.family
        return try translatingErrors {
            let specials = try T5SpecialTokens(tokenizer: Tokenizer.load(from: path))
            let corruption = try SpanCorruption(microBatch: t.microBatch, inputsLength: t.seqLen, noiseDensity: f.noiseDensity,
                                                meanSpanLength: f.meanNoiseSpanLength, specials: specials, seed: UInt64(t.seed))
            let model = try T5(config: modelConfig(config, specials), maxBatch: t.microBatch, maxSource: corruption.inputsLength,
                               maxTarget: corruption.targetsLength)
            model.initializeWeights(seed: UInt64(t.seed))
            return CorruptedRowsObjective(model, corruption: corruption) { t5, c, dropoutSeed in
                t5.dropoutSeed = dropoutSeed
                return try t5.forward(source: c.inputs.baseAddress!, sourceMask: c.inputMask.baseAddress!, decoderInput: c.decoderInputs.baseAddress!,
                                      targets: c.targets.baseAddress!, B: c.microBatch, S: c.inputsLength, T: c.targetsLength)
            }
        }
    }

    /// The run's T5 with the tokenizer's pad (the decoder's start token) and EOS ids.
    static func modelConfig(_ config: RunConfig, _ specials: T5SpecialTokens) -> T5Config {
        var c = config.t5Config
        c.padTokenId = specials.pad
        c.eosTokenId = specials.eos
        return c
    }

    /// L, the raw tokens whose corruption fills `training.seq_len` encoder inputs.
    public static func loaderSequenceLength(_ config: RunConfig) -> Int {
        SpanCorruption.lengths(inputsLength: config.training.seqLen, noiseDensity: config.family.noiseDensity,
                               meanSpanLength: config.family.meanNoiseSpanLength).tokens
    }

    /// Per encoder input token (what the trainer counts): 6 × (encoder parameters + (decoder parameters
    /// + the V·C head) · T/S) plus the attention products (12·C per layer per attended position:
    /// encoder self S, decoder self T and cross S, scaled by T/S).
    public static func flopsPerToken(_ config: RunConfig, parameters: Int) -> Double {
        let c = config.t5Config, layout = T5Layout(config: c)
        let S = Double(config.training.seqLen)
        let T = Double(SpanCorruption.lengths(inputsLength: config.training.seqLen, noiseDensity: config.family.noiseDensity,
                                              meanSpanLength: config.family.meanNoiseSpanLength).targets)
        let encoder = Double(layout.decoderRelativeBias - layout.encoderRelativeBias)
        let decoder = Double(parameters - layout.sharedRange.count) - encoder + Double(c.vocabSize * c.dModel)
        let attention = 12.0 * Double(c.attentionWidth) * (Double(c.numLayers) * S + Double(c.numDecoderLayers) * (T + S) * T / S)
        return 6.0 * (encoder + decoder * T / S) + attention
    }

    public static let minimumClassifierSequenceLength = 1

    /// T5 fine-tunes on text-to-text pairs, not as a classifier: refused in one line.
    public static func fineTune(_ run: FineTuneRun, checkpoint: ModelCheckpoint, labels: Int) throws -> FineTuneRun.Result {
        throw TrainingError("\(checkpoint.directory) is a T5 checkpoint; --task classify trains classifiers on BERT or GPT checkpoints; a T5 learns labels as target text — fine-tune it with --task seq2seq on {\"source\": …, \"target\": …} pairs", exitCode: 2)
    }

    public static let huggingFaceModelTypes = ["t5"]

    /// `T5ForConditionalGeneration` (`model.safetensors`, `config.json`) plus the checkpoint's tokenizer.
    public static func exportHuggingFace(_ checkpoint: ModelCheckpoint, to out: String) throws -> String {
        let model = try checkpoint.t5(batch: 1, source: 1, target: 1)
        do { try model.exportHuggingFace(to: out, prefix: checkpoint.config.data.sourcePrefix) } catch let e as ModelError { throw TrainingError(e.message) }
        return try copyTokenizer(of: checkpoint, to: out) + " as Hugging Face T5ForConditionalGeneration"
    }

    /// The model section from `config.json` (`model.n_layer` = num_layers, `model.intermediate_size` =
    /// d_ff, `model.residual_dropout` = dropout_rate, …).
    public static func importHuggingFace(_ directory: String, into run: RunConfig) throws -> HuggingFaceImport {
        do {
            let t5 = try T5.huggingFaceConfig(directory: directory)
            let model = try T5(config: t5, maxBatch: 1, maxSource: 1, maxTarget: 1)
            try model.importHuggingFace(from: directory)
            var config = run
            config.family.arch = .t5
            config.family.objective = .auto
            config.family.norm = .auto
            config.family.nsp = false
            config.family.numLabels = 0
            config.family.intermediateSize = t5.dFF
            config.family.dKV = t5.dKV
            config.family.numDecoderLayers = t5.numDecoderLayers
            config.family.relativeAttentionNumBuckets = t5.relativeAttentionNumBuckets
            config.family.relativeAttentionMaxDistance = t5.relativeAttentionMaxDistance
            config.family.feedForwardProj = t5.feedForward
            config.family.tieWordEmbeddings = t5.tieWordEmbeddings
            config.model.vocabSize = t5.vocabSize
            config.model.dModel = t5.dModel
            config.model.nHead = t5.numHeads
            config.model.nLayer = t5.numLayers
            config.model.layerNormEps = t5.layerNormEps
            config.model.residualDropout = t5.dropoutRate
            config.model.attentionDropout = 0
            config.model.embeddingDropout = 0
            config.data.sourcePrefix = T5.huggingFacePrefix(directory: directory)
            return HuggingFaceImport(config: config, table: model.layout, params: model.params,
                                     summary: "vocab \(t5.vocabSize), d_model \(t5.dModel), d_kv \(t5.dKV), d_ff \(t5.dFF), \(t5.numLayers)+\(t5.numDecoderLayers) layers, \(t5.numHeads) heads, \(t5.feedForward.rawValue)\(t5.tieWordEmbeddings ? ", tied" : "")")
        } catch let e as ModelError {
            throw TrainingError(e.message)
        }
    }
}
