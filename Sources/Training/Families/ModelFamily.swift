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
