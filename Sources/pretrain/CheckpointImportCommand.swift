import ArgumentParser
import Checkpoint
import Config
import Foundation
import Model

/// `pretrain checkpoint import HF_DIR --out ROOT`: a step-0 checkpoint from a Hugging Face GPT-2 directory.
struct CheckpointImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a Hugging Face GPT-2 directory (config.json + model.safetensors) into a step-0 checkpoint to train or fine-tune from.",
        discussion: """
        Writes ROOT/step-00000000 with the parameters (no optimizer state: AdamW starts fresh) and the
        tokenizer.json when HF_DIR has one. Then:
          pretrain train --config run.yaml --resume ROOT/step-00000000
        where run.yaml's model section matches (`pretrain checkpoint inspect ROOT` shows it).
        """)

    @Argument(help: "A Hugging Face GPT-2 directory.") var source: String
    @Option(help: "Checkpoint root to write step-00000000 into.") var out: String
    @Option(help: "A run config whose non-model keys to record in the checkpoint (the model section comes from config.json).")
    var config: String?

    func run() throws {
        var run = try config.map { try loadConfig($0, []) } ?? RunConfig()
        do {
            let (model, params) = try HuggingFaceGPT2.load(directory: source)
            run.model = model
            run.training.seqLen = min(run.training.seqLen, model.maxSeqLen)
            var options = LocalCheckpoint.Options()
            options.config = ConfigLoader.render(run)
            let tokenizer = source + "/tokenizer.json"
            options.tokenizer = FileManager.default.fileExists(atPath: tokenizer) ? tokenizer : nil
            let dir = try LocalCheckpoint.save(root: out, step: 0, layout: GPTLayout(config: model), params: params, m: nil, v: nil, options: options)
            print("imported \(source) (\(params.count) parameters; vocab \(model.vocabSize), n_layer \(model.nLayer), n_head \(model.nHead), d_model \(model.dModel), max_seq_len \(model.maxSeqLen)) into \(dir)")
            print("train from it: pretrain train --config RUN.yaml --resume \(dir)  (with that model section)")
        } catch let e as CheckpointError {
            throw CLIError(e.message, exitCode: 1)
        } catch let e as ModelError {
            throw CLIError(e.message, exitCode: 1)
        }
    }
}
