import Foundation
import Checkpoint
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

    /// The token shards the loaders read for `config`'s data.train and data.val (a family trained on
    /// pair files tokenizes them into shards first; rank `rank` of the run does its own), and a notice
    /// for the log. Default: the config's own locations.
    static func tokenShards(_ config: RunConfig, rank: Int) throws -> (train: String, val: String, notice: String?)

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

extension ModelFamily {
    /// data.train and data.val as they are: token shards.
    public static func tokenShards(_ config: RunConfig, rank: Int) throws -> (train: String, val: String, notice: String?) {
        (config.data.train, config.data.val, nil)
    }

    /// Copies the checkpoint's tokenizer.json (when it has one) into the export directory `out`;
    /// returns what to add to the export's one-line summary.
    static func copyTokenizer(of checkpoint: ModelCheckpoint, to out: String) throws -> String {
        guard let tokenizer = checkpoint.reader.tokenizerPath else { return "" }
        let target = out + "/tokenizer.json"
        try? FileManager.default.removeItem(atPath: target)
        do { try FileManager.default.copyItem(atPath: tokenizer, toPath: target) } catch {
            throw TrainingError("\(target): cannot copy the tokenizer (\(error.localizedDescription))")
        }
        return ", tokenizer.json"
    }

    /// `pretrain train` trains the pretraining heads: a config with a classifier head is refused in one
    /// line pointing at `pretrain finetune`.
    /// The run's `data.tokenizer`, which a family that takes special-token ids from it requires: throws
    /// when it is empty, saying what `reads` (e.g. "a BERT run reads the [CLS] … ids") and how to make one.
    static func requiredTokenizer(_ config: RunConfig, _ reads: String, preparedBy command: String) throws -> String {
        guard !config.data.tokenizer.isEmpty else {
            throw TrainingError("data.tokenizer is empty; \(reads) from it — set it to the tokenizer.json written by `\(command)`")
        }
        return config.data.tokenizer
    }

    /// Runs `body`, turning the model's, the data pipeline's and the checkpoint's errors into a
    /// `TrainingError` with their message (`TrainingError.translating`).
    static func translatingErrors<T>(_ body: () throws -> T) throws -> T { try TrainingError.translating(body) }

    /// Throws when the config describes a fine-tuned classifier: `pretrain train` trains the family's
    /// pretraining heads (`Architecture.pretrainingTask`).
    static func checkPretrainingHeads(_ config: RunConfig) throws {
        guard config.family.numLabels == 0 else {
            throw TrainingError("model.num_labels is \(config.family.numLabels): pretrain train trains \(architecture.pretrainingTask); fine-tune a classifier with `pretrain finetune` (set model.num_labels: 0)")
        }
    }
}
