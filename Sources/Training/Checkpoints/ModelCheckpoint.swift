import Checkpoint
import Config
import DataPipeline
import Foundation
import Model

/// A checkpoint opened for use outside the training loop — inference, evaluation, fine-tuning,
/// export — with its resolved config and family: the one model-loading API.
///
/// Every command that reads weights from a checkpoint goes through `open` and `load`, so a damaged
/// directory, a config that no longer parses, a checkpoint of another family and a tensor table that
/// does not fit are each reported the same way, in one line naming the directory and the fix. (Resuming
/// a run reads its shards in `Trainer.resume`, which checks the family with `checkFamily`.)
public struct ModelCheckpoint {
    /// The opened checkpoint (manifest, shards, tokenizer path).
    public let reader: CheckpointReader
    /// The run config stored in its manifest.
    public let config: RunConfig

    /// The checkpoint's family.
    public var architecture: Architecture { config.family.arch }

    /// The family's implementation.
    public var family: any ModelFamily.Type { ModelFamilies.family(architecture) }

    /// The step-NNNNNNNN directory.
    public var directory: String { reader.directory }

    /// Opens `path` (a step-NNNNNNNN directory or a checkpoint root) and loads the config of its manifest.
    public static func open(_ path: String) throws -> ModelCheckpoint {
        let reader: CheckpointReader
        do { reader = try CheckpointReader(path: path) } catch let error as CheckpointError {
            if !FileManager.default.fileExists(atPath: path + "/manifest.json"), let hf = HuggingFaceBERTDirectory.modelDirectory(path),
               FileManager.default.fileExists(atPath: hf + "/model.safetensors") || FileManager.default.fileExists(atPath: hf + "/pytorch_model.bin") {
                throw TrainingError("\(path) is a Hugging Face model directory (config.json, no manifest.json), not a pretrain checkpoint; import it first: pretrain checkpoint import \(path) --out DIR, then pass DIR", exitCode: 2)
            }
            throw TrainingError(error.message, exitCode: 2)
        }
        return try ModelCheckpoint(reader: reader)
    }

    /// Wraps an opened checkpoint, loading the config of its manifest.
    public init(reader: CheckpointReader) throws {
        self.reader = reader
        var config = RunConfig()
        do {
            try ConfigLoader.apply(yaml: reader.manifest.config, file: reader.directory + "/manifest.json", to: &config)
        } catch let error as ConfigError {
            throw TrainingError("\(reader.directory)/manifest.json: its config does not load (\(error.message)); the checkpoint was written by an incompatible pretrain", exitCode: 2)
        }
        self.config = config
    }

    /// The one-line refusal when this checkpoint is not of `expected`'s family: `needs` says who needs it
    /// ("generate and eval need"), `hint` what to use instead.
    public func require(_ expected: Architecture, needs: String, hint: String) throws {
        guard architecture != expected else { return }
        let also = expected == .gpt ? " (causal LM)" : ""
        throw TrainingError("\(directory) is a \(architecture.displayName) checkpoint (model.arch \(architecture.rawValue)); \(needs) a \(expected.displayName)\(also) checkpoint — \(hint)", exitCode: 2)
    }

    /// Builds a model with `make` and reads the checkpoint's parameters into it, after checking that the
    /// checkpoint's tensor table matches the model's (one line naming the first mismatch).
    public func load<M: LanguageModel>(_ make: () throws -> M) throws -> M {
        do {
            let model = try make()
            try reader.manifest.checkMatches(model.layout, directory: reader.directory)
            try reader.readParameters(into: model.params.buffer)
            return model
        } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        } catch let error as CheckpointError {
            throw TrainingError(error.message, exitCode: 2)
        }
    }

    /// The GPT of this checkpoint for batches up to (batch, seqLen) (defaults: the run's micro_batch and
    /// seq_len), with dropout off. A fine-tuned classifier is refused unless `allowClassifier`.
    public func gpt(batch: Int? = nil, seqLen: Int? = nil, allowClassifier: Bool = false, needs: String = "generate and eval need",
                    hint: String = "use `pretrain predict --task fill-mask` (or --task classify) for BERT") throws -> GPT {
        try require(.gpt, needs: needs, hint: hint)
        guard allowClassifier || config.family.numLabels == 0 else {
            throw TrainingError("\(directory) is a fine-tuned GPT classifier (model.num_labels \(config.family.numLabels)) with no language-model head; generate and eval need a pretrained GPT — use `pretrain predict --task classify` for the classifier", exitCode: 2)
        }
        let B = batch ?? config.training.microBatch
        let T = seqLen ?? min(config.training.seqLen, config.model.maxSeqLen)
        let gptConfig = config.gptConfig
        let model = try load { try GPT(config: gptConfig, maxBatch: B, maxSeqLen: T) }
        model.training = false
        return model
    }

    /// The BERT of this checkpoint (masked LM or classifier) for batches up to (batch, seqLen), dropout off.
    public func bert(batch: Int, seqLen: Int, needs: String = "this command needs", hint: String = "give a BERT checkpoint") throws -> BERT {
        try require(.bert, needs: needs, hint: hint)
        let bertConfig = config.bertConfig
        let model = try load { try BERT(config: bertConfig, maxBatch: batch, maxSeqLen: seqLen) }
        model.training = false
        return model
    }

    /// The T5 of this checkpoint for batches up to (batch, source, target), dropout off; pad and EOS ids
    /// from its tokenizer when it has T5's (else T5's 0 and 1).
    public func t5(batch: Int, source: Int, target: Int, needs: String = "this command needs", hint: String = "give a T5 checkpoint") throws -> T5 {
        try require(.t5, needs: needs, hint: hint)
        var t5Config = config.t5Config
        if let specials = try? T5SpecialTokens(tokenizer: byteLevelTokenizer()) {
            t5Config.padTokenId = specials.pad
            t5Config.eosTokenId = specials.eos
        }
        let model = try load { [t5Config] in try T5(config: t5Config, maxBatch: batch, maxSource: source, maxTarget: target) }
        model.training = false
        return model
    }

    /// The paper's Transformer of this checkpoint for `batch` sequences of up to `source` → `target` tokens, dropout off;
    /// pad and EOS ids from its tokenizer as in training.
    public func transformer(source: Int, batch: Int = 1, target: Int = 1, needs: String = "this command needs",
                            hint: String = "give a Transformer checkpoint") throws -> TransformerModel {
        try require(.transformer, needs: needs, hint: hint)
        var c = config.transformerConfig
        var run = config
        run.data.tokenizer = try tokenizerPath(explicit: nil)
        (c.padTokenId, c.eosTokenId) = try TransformerFamily.specialTokens(run)
        let model = try load { [c] in try TransformerModel(config: c, maxBatch: batch, maxSource: source, maxTarget: target) }
        model.training = false
        return model
    }

    /// The tokenizer (any Hugging Face `tokenizer.json`: byte-level BPE, WordPiece, Unigram): `explicit`
    /// if given, else the checkpoint's own, else the run's data.tokenizer; checked against the model's
    /// vocabulary. The file's own truncation and padding are dropped: callers fit texts to the model.
    public func tokenizer(explicit: String? = nil) throws -> HuggingFaceTokenizer {
        let path = try tokenizerPath(explicit: explicit)
        do {
            let tokenizer = try HuggingFaceTokenizer.load(from: path).withoutTruncationAndPadding()
            try tokenizer.checkFits(modelVocabularySize: config.model.vocabSize)
            return tokenizer
        } catch let error as DataError {
            throw TrainingError("\(error)", exitCode: 2)
        }
    }

    /// The byte-level BPE tokenizer GPT generation streams bytes from (as `tokenizer(explicit:)`); a
    /// WordPiece or Unigram file is a one-line error.
    public func byteLevelTokenizer(explicit: String? = nil) throws -> Tokenizer {
        let path = try tokenizerPath(explicit: explicit)
        do {
            let tokenizer = try Tokenizer.load(from: path)
            try tokenizer.checkFits(modelVocabularySize: config.model.vocabSize)
            return tokenizer
        } catch let error as DataError {
            throw TrainingError("\(error)", exitCode: 2)
        }
    }

    /// `explicit`, else the first of the checkpoint's tokenizer and the run's data.tokenizer that exists.
    private func tokenizerPath(explicit: String?) throws -> String {
        let candidates = [explicit, reader.tokenizerPath, config.data.tokenizer.isEmpty ? nil : config.data.tokenizer].compactMap { $0 }
        guard let path = explicit ?? candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw TrainingError("\(directory) has no tokenizer.json and the run's data.tokenizer '\(config.data.tokenizer)' does not exist; pass --tokenizer PATH", exitCode: 2)
        }
        return path
    }

    /// The tokenizer (as `tokenizer(explicit:)`) and its BERT special ids; a tokenizer without
    /// [CLS]/[SEP]/[MASK]/[PAD] is a one-line error.
    public func bertTokenizer(explicit: String? = nil) throws -> (HuggingFaceTokenizer, BERTSpecialTokens) {
        let tokenizer = try tokenizer(explicit: explicit)
        do { return (tokenizer, try BERTSpecialTokens(tokenizer: tokenizer)) } catch let error as DataError {
            throw TrainingError("\(error)", exitCode: 2)
        }
    }

    /// Throws when the checkpoint `reader` holds a model of another family than `config`'s: one line
    /// naming both, instead of a tensor-by-tensor mismatch.
    public static func checkFamily(_ reader: CheckpointReader, matches config: RunConfig) throws {
        guard let saved = try? ModelCheckpoint(reader: reader), saved.architecture != config.family.arch else { return }
        throw TrainingError("\(reader.directory) is a \(saved.architecture.displayName) checkpoint; the config's model.arch is \(config.family.arch.rawValue) — set model.arch: \(saved.architecture.rawValue) (and the model section as in `pretrain checkpoint inspect \(reader.directory)`) or start a fresh run elsewhere", exitCode: 2)
    }
}
