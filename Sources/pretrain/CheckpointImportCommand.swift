import ArgumentParser
import Checkpoint
import Config
import Foundation
import Model
import Training

/// `pretrain checkpoint import HF_DIR --out ROOT`: a step-0 checkpoint from a Hugging Face directory.
struct CheckpointImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a Hugging Face GPT-2 or BERT directory (config.json + model.safetensors) into a step-0 checkpoint to train or fine-tune from.",
        discussion: """
        The family comes from config.json's model_type (gpt2 or bert). Writes ROOT/step-00000000 with the parameters (no optimizer state: AdamW starts fresh) and the tokenizer.json when HF_DIR has one. Then:
          pretrain train --config run.yaml --resume ROOT/step-00000000
        where run.yaml's model section matches (`pretrain checkpoint inspect ROOT` shows it).
        """)

    @Argument(help: "A Hugging Face GPT-2 or BERT directory.") var source: String
    @Option(help: "Checkpoint root to write step-00000000 into.") var out: String
    @Option(help: "A run config whose non-model keys to record in the checkpoint (the model section comes from config.json).")
    var config: String?

    func run() throws {
        let run = try config.map { try loadConfig($0, []) } ?? RunConfig()
        let family = try Self.family(of: source)
        let imported: HuggingFaceImport
        do { imported = try family.importHuggingFace(source, into: run) } catch let e as TrainingError { throw CLIError(e.message, exitCode: 1) }
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(imported.config)
        let tokenizer = source + "/tokenizer.json"
        options.tokenizer = FileManager.default.fileExists(atPath: tokenizer) ? tokenizer : nil
        let dir: String
        do {
            dir = try LocalCheckpoint.save(root: out, step: 0, layout: imported.table, params: imported.params, m: nil, v: nil, options: options)
        } catch let e as CheckpointError {
            throw CLIError(e.message, exitCode: 1)
        }
        print("imported \(source) (\(imported.params.count) parameters; \(imported.summary)) into \(dir)")
        print("train from it: pretrain train --config RUN.yaml --resume \(dir)  (with that model section)")
    }

    /// The family config.json's model_type names; GPT-2's reader reports a directory without one.
    static func family(of source: String) throws -> any ModelFamily.Type {
        let path = source + "/config.json"
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let type = json["model_type"] as? String else { return GPTFamily.self }
        guard let family = ModelFamilies.family(huggingFaceModelType: type) else {
            let known = ModelFamilies.all.flatMap { $0.huggingFaceModelTypes }.joined(separator: ", ")
            throw CLIError("\(path): model_type is \(type); pretrain imports \(known) — convert the model to one of those, or train from scratch", exitCode: 1)
        }
        return family
    }
}
