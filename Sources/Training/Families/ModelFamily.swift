import Config
import DataPipeline
import Model

/// One model family — GPT, BERT — as the layers above the model see it: how a run config becomes its
/// model and pretraining objective, what it costs, and how its checkpoints are used.
///
/// A new family (an encoder-decoder, say) is one more conforming type and one more case in
/// `Architecture` and `ModelFamilies.family(_:)`; the trainer, checkpoints and commands reach it only
/// through this protocol.
public protocol ModelFamily {
    /// The `model.arch` this family implements.
    static var architecture: Architecture { get }

    /// The tensor table of `config`'s model (pretraining heads, or the classifier when
    /// `model.num_labels` > 0), without allocating the model.
    static func parameterTable(_ config: RunConfig) -> any ParameterTable

    /// The model with its pretraining heads for `config`, initialised from `training.seed`, and what
    /// one micro-step of pretraining computes with it.
    static func pretrainingObjective(_ config: RunConfig) throws -> any PretrainingObjective

    /// Tokens per row the data loaders read for a pretraining run of `config`.
    static func loaderSequenceLength(_ config: RunConfig) -> Int

    /// Training FLOPs per token (forward + backward) of a model with `parameters` parameters.
    static func flopsPerToken(_ config: RunConfig, parameters: Int) -> Double

    /// The shortest fine-tuning sequence that holds content (BERT needs room for [CLS] and [SEP]).
    static var minimumClassifierSequenceLength: Int { get }

    /// Fine-tunes a `labels`-way classifier whose body comes from `checkpoint` (the family's part of
    /// `FineTuneRun`).
    static func fineTune(_ run: FineTuneRun, checkpoint: ModelCheckpoint, labels: Int) throws -> FineTuneRun.Result

    /// The `model_type` values of Hugging Face `config.json` files this family imports.
    static var huggingFaceModelTypes: [String] { get }

    /// Writes `checkpoint` as a Hugging Face directory (`model.safetensors`, `config.json`, tokenizer)
    /// into `out`; returns what was written, for one line of output.
    static func exportHuggingFace(_ checkpoint: ModelCheckpoint, to out: String) throws -> String

    /// Reads a Hugging Face directory of this family: `run` with its model section set from
    /// `config.json`, the parameter table, and the parameters in it.
    static func importHuggingFace(_ directory: String, into run: RunConfig) throws -> HuggingFaceImport
}

/// A Hugging Face directory read into this project's terms (see `ModelFamily.importHuggingFace`).
public struct HuggingFaceImport {
    /// The run config with the imported model section.
    public let config: RunConfig
    /// The model's tensor table.
    public let table: any ParameterTable
    /// The parameters, in `table`'s layout.
    public let params: FlatBuffer
    /// The model's shape, for one line of output.
    public let summary: String
}

extension ModelFamily {
    /// `pretrain train` trains the pretraining heads: a config with a classifier head is refused in one
    /// line pointing at `pretrain finetune`.
    static func checkPretrainingHeads(_ config: RunConfig, _ what: String) throws {
        guard config.family.numLabels == 0 else {
            throw TrainingError("model.num_labels is \(config.family.numLabels): pretrain train trains \(what); fine-tune a classifier with `pretrain finetune` (set model.num_labels: 0)")
        }
    }
}

/// The registry of model families: the only place an `Architecture` is mapped to its implementation.
public enum ModelFamilies {
    /// Every family, in `Architecture` order.
    public static let all: [any ModelFamily.Type] = Architecture.allCases.map(family)

    /// The implementation of `architecture`.
    public static func family(_ architecture: Architecture) -> any ModelFamily.Type {
        switch architecture {
        case .gpt: GPTFamily.self
        case .bert: BERTFamily.self
        }
    }

    /// The implementation of `config`'s `model.arch`.
    public static func family(of config: RunConfig) -> any ModelFamily.Type { family(config.family.arch) }

    /// The family that imports Hugging Face `model_type` `type`, or nil.
    public static func family(huggingFaceModelType type: String) -> (any ModelFamily.Type)? {
        all.first { $0.huggingFaceModelTypes.contains(type) }
    }
}

/// What one micro-step of pretraining computes for a family: the model, and its loss on the loader's
/// current micro-batch.
public protocol PretrainingObjective: AnyObject {
    /// The model being trained.
    var model: any LanguageModel { get }
    /// Dropout is applied while training.
    var training: Bool { get set }
    /// Forward on the loader's current micro-batch (after its `next()`); returns the loss.
    /// `dropoutSeed` seeds the family's dropout masks for this (step, micro-batch, rank).
    func forward(_ loader: DistributedDataLoader, dropoutSeed: UInt64) throws -> Float
}
