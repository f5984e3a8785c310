import Config
import DataPipeline
import Model

/// GPT: a decoder trained on next-token targets (clm); fine-tuned as a classifier on the last token.
public enum GPTFamily: ModelFamily {
    public static let architecture = Architecture.gpt

    public static func parameterTable(_ config: RunConfig) -> any ParameterTable { GPTLayout(config: config.gptConfig) }

    public static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective {
        guard config.family.numLabels == 0 else {
            throw TrainingError("model.num_labels is \(config.family.numLabels): pretrain train trains a GPT language model; fine-tune a classifier with `pretrain finetune` (set model.num_labels: 0)")
        }
        let t = config.training
        let model: GPT
        do { model = try GPT(config: config.model, maxBatch: t.microBatch, maxSeqLen: t.seqLen) } catch let e as ModelError {
            throw TrainingError(e.message)
        }
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
}

/// Next-token prediction: the loader's inputs and targets straight into the GPT.
final class CausalLMObjective: PretrainingObjective {
    let gpt: GPT
    var model: any LanguageModel { gpt }
    var training: Bool {
        get { gpt.training }
        set { gpt.training = newValue }
    }

    init(_ gpt: GPT) { self.gpt = gpt }

    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float {
        gpt.dropoutSeed = dropoutSeed
        return try gpt.forward(tokens: loader.inputs.baseAddress!, targets: loader.targets.baseAddress!,
                               B: loader.microBatch, T: loader.sequenceLength)
    }
}
