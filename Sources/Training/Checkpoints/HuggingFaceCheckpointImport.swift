import Checkpoint
import Config
import Foundation
import Model

/// A step-0 checkpoint made from a Hugging Face GPT-2 or BERT directory (config.json +
/// model.safetensors, or a sentence-transformers directory with them in `0_Transformer/`): the
/// workflow of `pretrain checkpoint import`.
///
/// The family comes from config.json's model_type (a directory without one is read as GPT-2). The
/// checkpoint holds the parameters (no optimizer state: AdamW starts fresh), the run config with the
/// imported model section, and the directory's tokenizer.json when it has one. Errors are one line
/// (exit status 1).
public enum HuggingFaceCheckpointImport {
    /// The family config.json's model_type names; GPT-2's reader reports a directory without one.
    public static func family(of source: String) throws -> any ModelFamily.Type {
        let path = source + "/config.json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let type = json["model_type"] as? String else { return GPTFamily.self }
        guard let family = ModelFamilies.family(huggingFaceModelType: type) else {
            let known = ModelFamilies.all.flatMap { $0.huggingFaceModelTypes }.joined(separator: ", ")
            throw TrainingError("\(path): model_type is \(type); pretrain imports \(known) — convert the model to one of those, or train from scratch")
        }
        return family
    }

    /// Imports `source` into `run` (whose non-model keys it keeps) and saves it as step 0 under `root`;
    /// returns the import and the step-00000000 directory written.
    public static func run(source: String, root: String, run: RunConfig) throws -> (imported: HuggingFaceImport, directory: String) {
        let modelDirectory = HuggingFaceBERTDirectory.modelDirectory(source) ?? source
        let family = try family(of: modelDirectory)
        let imported: HuggingFaceImport
        do { imported = try family.importHuggingFace(modelDirectory, into: run) } catch let e as TrainingError { throw TrainingError(e.message) }
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(imported.config)
        let tokenizer = [modelDirectory, source].map { $0 + "/tokenizer.json" }.first { FileManager.default.fileExists(atPath: $0) } ?? ""
        options.tokenizer = FileManager.default.fileExists(atPath: tokenizer) ? tokenizer : nil
        do {
            let directory = try LocalCheckpoint.save(root: root, step: 0, layout: imported.table, params: imported.params, m: nil, v: nil, options: options)
            return (imported, directory)
        } catch let e as CheckpointError {
            throw TrainingError(e.message)
        }
    }
}
