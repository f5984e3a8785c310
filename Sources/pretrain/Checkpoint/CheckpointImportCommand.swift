import ArgumentParser
import Config
import Foundation
import Training

/// `pretrain checkpoint import HF_DIR --out ROOT`: a step-0 checkpoint from a Hugging Face directory.
struct CheckpointImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a Hugging Face GPT-2 or BERT directory (config.json + model.safetensors; sentence-transformers too) into a step-0 checkpoint.",
        discussion: """
        The family comes from config.json's model_type (gpt2 or bert). Writes ROOT/step-00000000 with the parameters (no optimizer state: AdamW starts fresh) and the tokenizer.json when HF_DIR has one. Then:
          pretrain train --config run.yaml --resume ROOT/step-00000000
        where run.yaml's model section matches (`pretrain checkpoint inspect ROOT` shows it).
        """.helpParagraphs)

    @Argument(help: "A Hugging Face GPT-2 or BERT directory.") var source: String
    @Option(help: "Checkpoint root to write step-00000000 into.") var out: String
    @Option(help: "A run config whose non-model keys to record in the checkpoint (the model section comes from config.json).")
    var config: String?

    func run() throws {
        let run = try config.map { try loadConfig($0, []) } ?? RunConfig()
        let (imported, dir) = try HuggingFaceCheckpointImport.run(source: source, root: out, run: run)
        print("imported \(source) (\(imported.params.count) parameters; \(imported.summary)) into \(dir)")
        if !imported.fresh.isEmpty { print("initialised fresh (not in \(source)): \(imported.fresh.joined(separator: ", "))") }
        if !imported.unused.isEmpty { print("not used (no place in the model): \(imported.unused.joined(separator: ", "))") }
        print("train from it: pretrain train --config RUN.yaml --resume \(dir)  (with that model section)")
    }
}
