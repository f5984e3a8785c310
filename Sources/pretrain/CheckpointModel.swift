import Checkpoint
import Config
import DataPipeline
import Foundation
import Model

/// A checkpoint opened for inference or evaluation: its resolved config, its parameters in a `GPT`
/// built for (batch, seqLen), and its tokenizer when one can be found.
struct CheckpointModel {
    let reader: CheckpointReader
    let config: RunConfig
    let model: GPT

    /// Opens `path` (a step-NNNNNNNN directory or a checkpoint root) and loads its weights into a model
    /// for batches up to (batch, seqLen) (defaults: the run's training.micro_batch and seq_len). A
    /// fine-tuned classifier (model.num_labels > 0) is refused unless `allowClassifier`.
    init(path: String, batch: Int? = nil, seqLen: Int? = nil, allowClassifier: Bool = false) throws {
        let (reader, config) = try Self.open(path: path)
        try self.init(reader: reader, config: config, batch: batch, seqLen: seqLen, allowClassifier: allowClassifier)
    }

    /// Loads an opened checkpoint (see `init(path:batch:seqLen:allowClassifier:)`).
    init(reader: CheckpointReader, config: RunConfig, batch: Int? = nil, seqLen: Int? = nil, allowClassifier: Bool = false) throws {
        self.reader = reader
        self.config = config
        guard config.family.arch == "gpt" else {
            throw CLIError("\(reader.directory) is a BERT checkpoint (model.arch \(config.family.arch)); generate and eval need a GPT (causal LM) checkpoint — use `pretrain predict --task fill-mask` (or --task classify) for BERT")
        }
        guard allowClassifier || config.family.numLabels == 0 else {
            throw CLIError("\(reader.directory) is a fine-tuned GPT classifier (model.num_labels \(config.family.numLabels)) with no language-model head; generate and eval need a pretrained GPT — use `pretrain predict --task classify` for the classifier")
        }
        let B = batch ?? config.training.microBatch
        let T = seqLen ?? min(config.training.seqLen, config.model.maxSeqLen)
        model = try Self.load(reader) { try GPT(config: config.gptConfig, maxBatch: B, maxSeqLen: T) }
        model.training = false
    }

    /// Builds a model with `make` and reads `reader`'s parameters into it, after checking that the
    /// checkpoint's tensor table matches the model's (one-line `CLIError`s naming the first mismatch).
    static func load<M: LanguageModel>(_ reader: CheckpointReader, _ make: () throws -> M) throws -> M {
        do {
            let model = try make()
            try reader.manifest.checkMatches(model.layout, directory: reader.directory)
            try reader.readParameters(into: model.params.buffer)
            return model
        } catch let error as ModelError {
            throw CLIError(error.message)
        } catch let error as CheckpointError {
            throw CLIError(error.message)
        }
    }

    /// Opens `path` and loads the resolved config from its manifest (one-line `CLIError`s).
    static func open(path: String) throws -> (CheckpointReader, RunConfig) {
        let reader: CheckpointReader
        do {
            reader = try CheckpointReader(path: path)
        } catch let error as CheckpointError {
            throw CLIError(error.message)
        }
        var config = RunConfig()
        do {
            try ConfigLoader.apply(yaml: reader.manifest.config, file: reader.directory + "/manifest.json", to: &config)
        } catch let error as ConfigError {
            throw CLIError("\(reader.directory)/manifest.json: its config does not load (\(error.message)); the checkpoint was written by an incompatible pretrain")
        }
        return (reader, config)
    }

    /// The tokenizer: `explicit` if given, else the checkpoint's own, else the run's data.tokenizer.
    func tokenizer(explicit: String?) throws -> Tokenizer {
        try Self.tokenizer(explicit: explicit, reader: reader, config: config)
    }

    /// The tokenizer of a checkpoint: `explicit` if given, else the checkpoint's own, else the run's data.tokenizer.
    static func tokenizer(explicit: String?, reader: CheckpointReader, config: RunConfig) throws -> Tokenizer {
        let candidates = [explicit, reader.tokenizerPath, config.data.tokenizer.isEmpty ? nil : config.data.tokenizer].compactMap { $0 }
        guard let path = explicit ?? candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw CLIError("\(reader.directory) has no tokenizer.json and the run's data.tokenizer '\(config.data.tokenizer)' does not exist; pass --tokenizer PATH")
        }
        do {
            let tokenizer = try Tokenizer.load(from: path)
            try tokenizer.checkFits(modelVocabularySize: config.model.vocabSize)
            return tokenizer
        } catch let error as DataError {
            throw CLIError("\(error)")
        }
    }
}
