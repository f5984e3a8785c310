import Checkpoint
import Config
import DataPipeline
import Model

/// GPT: a decoder trained on next-token targets (clm); fine-tuned as a classifier on the last token.
public enum GPTFamily: ModelFamily {
    public static let architecture = Architecture.gpt

    public static func parameterTable(_ config: RunConfig) -> any ParameterTable { GPTLayout(config: config.gptConfig) }

    public static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective {
        let t = config.training
        let model = try translatingErrors { try GPT(config: config.model, maxBatch: t.microBatch, maxSeqLen: t.seqLen) }
        model.initializeWeights(seed: UInt64(t.seed))
        return CausalLMObjective(model)
    }

    public static func loaderSequenceLength(_ config: RunConfig) -> Int { config.training.seqLen }

    /// The 6N + 12·L·C·T estimate of PaLM's appendix B.
    public static func flopsPerToken(_ config: RunConfig, parameters: Int) -> Double {
        let m = config.model
        return 6.0 * Double(parameters) + 12.0 * Double(m.nLayer * m.dModel * config.training.seqLen)
    }

    public static let minimumClassifierSequenceLength = 1

    public static func fineTune(_ run: FineTuneRun, checkpoint: ModelCheckpoint, labels: Int) throws -> FineTuneRun.Result {
        var config = checkpoint.config.gptConfig
        config.numLabels = labels
        let body = try checkpoint.gpt(batch: 1, seqLen: 1, allowClassifier: true)
        return try run.tune(FineTuner<GPT>.self, config: config, body: body)
    }

    public static let huggingFaceModelTypes = ["gpt2"]

    /// `GPT2LMHeadModel`, or `GPT2ForSequenceClassification` for a fine-tuned classifier.
    public static func exportHuggingFace(_ checkpoint: ModelCheckpoint, to out: String) throws -> String {
        let config = checkpoint.config, model = config.gptConfig, reader = checkpoint.reader
        let layout = GPTLayout(config: model)
        do {
            try reader.manifest.checkMatches(layout, directory: reader.directory)
            let params = try FlatBuffer(count: layout.count)
            try reader.readParameters(into: params.buffer)
            let names = config.family.labelNames.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let files = try HuggingFaceGPT2.export(params: UnsafeBufferPointer(params.buffer), model: model,
                                                   tokenizer: reader.tokenizerPath, to: out, labelNames: names)
            let kind = model.numLabels > 0 ? " as GPT2ForSequenceClassification (\(model.numLabels) labels)" : ""
            return "\(kind): \(files.joined(separator: ", "))"
        } catch let e as CheckpointError {
            throw TrainingError(e.message)
        } catch let e as ModelError {
            throw TrainingError(e.message)
        }
    }

    public static func importHuggingFace(_ directory: String, into run: RunConfig) throws -> HuggingFaceImport {
        let model: GPTConfig, params: FlatBuffer
        do { (model, params) = try HuggingFaceGPT2.load(directory: directory) } catch let e as ModelError { throw TrainingError(e.message) }
        var config = run
        config.family.arch = .gpt
        config.model = model
        config.training.seqLen = min(config.training.seqLen, model.maxSeqLen)
        return HuggingFaceImport(config: config, table: GPTLayout(config: model), params: params,
                                 summary: "vocab \(model.vocabSize), n_layer \(model.nLayer), n_head \(model.nHead), d_model \(model.dModel), max_seq_len \(model.maxSeqLen)")
    }
}

/// Next-token prediction: the loader's inputs and targets straight into the GPT.
final class CausalLMObjective: PretrainingObjective {
    let gpt: GPT
    var model: any LanguageModel { gpt }

    init(_ gpt: GPT) { self.gpt = gpt }

    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float {
        gpt.dropoutSeed = dropoutSeed
        return try gpt.forward(tokens: loader.inputs.baseAddress!, targets: loader.targets.baseAddress!,
                               B: loader.microBatch, T: loader.sequenceLength)
    }
}
