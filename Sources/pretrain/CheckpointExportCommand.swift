import ArgumentParser
import Checkpoint
import Config
import Foundation
import Model

/// `pretrain checkpoint export DIR --format safetensors --out OUT`: a Hugging Face GPT-2 directory.
struct CheckpointExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's parameters as a Hugging Face GPT-2 directory (model.safetensors, config.json, tokenizer.json).",
        discussion: """
        The result loads with transformers' GPT2LMHeadModel.from_pretrained(OUT) and tokenizers'
        Tokenizer.from_file(OUT + "/tokenizer.json"). Only causal models with learned positions export.
        """)

    @Argument(help: "A step-NNNNNNNN directory or a checkpoint root.") var directory: String
    @Option(help: "Output format (safetensors).") var format: String = "safetensors"
    @Option(help: "Output directory (created).") var out: String

    func run() throws {
        guard format == "safetensors" else { throw CLIError("--format \(format) is not supported; use --format safetensors") }
        let reader = try openCheckpoint(directory)
        let config = try checkpointConfig(reader)
        let layout = ParameterLayout(config: config.model)
        do {
            try reader.manifest.checkMatches(layout, directory: reader.directory)
            let params = FlatBuffer(count: layout.count)
            try reader.readParameters(into: params.buffer)
            let files = try HuggingFaceGPT2.export(params: UnsafeBufferPointer(params.buffer), model: config.model,
                                                   tokenizer: reader.tokenizerPath, to: out)
            print("exported step \(reader.manifest.step) of \(reader.directory) to \(out): \(files.joined(separator: ", "))")
        } catch let e as CheckpointError {
            throw CLIError(e.message, exitCode: 1)
        }
    }
}
