import Checkpoint
import Config
import DataPipeline
import Model

/// T5: an encoder-decoder trained with span corruption (`training.objective: span_corruption`).
///
/// `training.seq_len` is the encoder's input length S (T5's `inputs_length`); each row reads the L raw
/// tokens whose corruption fills S exactly (Hugging Face's `compute_input_and_target_lengths`), and
/// the decoder's target length T follows from the noise density and mean span length.
public enum T5Family: ModelFamily {
    public static let architecture = Architecture.t5

    public static func parameterTable(_ config: RunConfig) -> any ParameterTable { T5Layout(config: config.t5Config) }

    /// The sentinels, pad and EOS come from the run's tokenizer (`pretrain data prepare --extra-ids 100`).
    public static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective {
        try checkPretrainingHeads(config, "T5 with span corruption")
        let path = config.data.tokenizer
        guard !path.isEmpty else {
            throw TrainingError("data.tokenizer is empty; a T5 run reads the pad, EOS and <extra_id_N> sentinel ids from it — set it to the tokenizer.json written by `pretrain data prepare --extra-ids 100`")
        }
        let t = config.training, f = config.family
        do {
            let specials = try T5SpecialTokens(tokenizer: Tokenizer.load(from: path))
            let corruption = try SpanCorruption(microBatch: t.microBatch, inputsLength: t.seqLen, noiseDensity: f.noiseDensity,
                                                meanSpanLength: f.meanNoiseSpanLength, specials: specials, seed: UInt64(t.seed))
            let model = try T5(config: modelConfig(config, specials), maxBatch: t.microBatch, maxSource: corruption.inputsLength,
                               maxTarget: corruption.targetsLength)
            model.initializeWeights(seed: UInt64(t.seed))
            return SpanCorruptionObjective(model, corruption: corruption)
        } catch let e as ModelError {
            throw TrainingError(e.message)
        } catch let e as DataError {
            throw TrainingError("\(e)")
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
        throw TrainingError("\(checkpoint.directory) is a T5 checkpoint; `pretrain finetune` trains classifiers on BERT or GPT checkpoints, and T5 learns labels as target text (seq2seq fine-tuning is not available yet)", exitCode: 2)
    }

    /// Not yet: no Hugging Face T5 import.
    public static let huggingFaceModelTypes: [String] = []

    /// Refused in one line until the T5 export exists.
    public static func exportHuggingFace(_ checkpoint: ModelCheckpoint, to out: String) throws -> String {
        throw TrainingError("\(checkpoint.directory) is a T5 checkpoint; exporting T5 to Hugging Face is not available yet", exitCode: 2)
    }

    /// Unreachable while `huggingFaceModelTypes` is empty; refused in one line.
    public static func importHuggingFace(_ directory: String, into run: RunConfig) throws -> HuggingFaceImport {
        throw TrainingError("\(directory): importing Hugging Face T5 is not available yet", exitCode: 2)
    }
}

/// Span corruption: each row of the loader is corrupted with draws keyed by its index in the global data
/// stream (see `SpanCorruption`), so N ranks equal 1 rank and a resumed run repeats an uninterrupted one.
final class SpanCorruptionObjective: PretrainingObjective {
    let t5: T5
    let corruption: SpanCorruption
    var model: any LanguageModel { t5 }

    init(_ t5: T5, corruption: SpanCorruption) {
        self.t5 = t5
        self.corruption = corruption
    }

    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float {
        t5.dropoutSeed = dropoutSeed
        let c = corruption
        c.build(content: loader.inputs.baseAddress!, contentLength: loader.sequenceLength, firstSequence: loader.firstRowOfRank)
        return try t5.forward(source: c.inputs.baseAddress!, sourceMask: c.inputMask.baseAddress!, decoderInput: c.decoderInputs.baseAddress!,
                              targets: c.targets.baseAddress!, B: c.microBatch, S: c.inputsLength, T: c.targetsLength)
    }
}
