import ArgumentParser
import Checkpoint
import Config
import Foundation
import Model

/// `pretrain checkpoint export DIR --format safetensors --out OUT`: a Hugging Face GPT-2 directory.
struct CheckpointExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's parameters as a Hugging Face directory (model.safetensors, config.json, tokenizer.json).",
        discussion: """
        A GPT checkpoint loads with transformers' GPT2LMHeadModel.from_pretrained(OUT) (a fine-tuned GPT
        classifier with GPT2ForSequenceClassification: score.weight, num_labels, the label names, and
        pad_token_id = <|endoftext|>), a BERT one (model.arch: bert, post-LN) with BertForMaskedLM
        (BertForPreTraining with NSP, BertForSequenceClassification when fine-tuned), and the tokenizer
        with tokenizers' Tokenizer.from_file(OUT + "/tokenizer.json"). GPT checkpoints need learned positions.
        """)

    @Argument(help: "A step-NNNNNNNN directory or a checkpoint root.") var directory: String
    @Option(help: "Output format (safetensors).") var format: String = "safetensors"
    @Option(help: "Output directory (created).") var out: String

    func run() throws {
        guard format == "safetensors" else { throw CLIError("--format \(format) is not supported; use --format safetensors") }
        let reader = try openCheckpoint(directory)
        let config = try checkpointConfig(reader)
        switch config.family.arch {
        case .bert: return try exportBERT(reader, config: config)
        case .gpt: break
        }
        let model = config.gptConfig
        let layout = GPTLayout(config: model)
        do {
            try reader.manifest.checkMatches(layout, directory: reader.directory)
            let params = FlatBuffer(count: layout.count)
            try reader.readParameters(into: params.buffer)
            let names = config.family.labelNames.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let files = try HuggingFaceGPT2.export(params: UnsafeBufferPointer(params.buffer), model: model,
                                                   tokenizer: reader.tokenizerPath, to: out, labelNames: names)
            let kind = model.numLabels > 0 ? " as GPT2ForSequenceClassification (\(model.numLabels) labels)" : ""
            print("exported step \(reader.manifest.step) of \(reader.directory) to \(out)\(kind): \(files.joined(separator: ", "))")
        } catch let e as CheckpointError {
            throw CLIError(e.message, exitCode: 1)
        } catch let e as ModelError {
            throw CLIError(e.message, exitCode: 1)
        }
    }

    /// A BERT checkpoint as `BertForMaskedLM` (or `BertForPreTraining`) plus its tokenizer.
    private func exportBERT(_ reader: CheckpointReader, config: RunConfig) throws {
        do {
            let model = try BERT(config: config.bertConfig, maxBatch: 1, maxSeqLen: 1)
            try reader.manifest.checkMatches(model.layout, directory: reader.directory)
            try reader.readParameters(into: model.params.buffer)
            try model.exportHuggingFace(to: out)
            if let tokenizer = reader.tokenizerPath {
                let target = out + "/tokenizer.json"
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: tokenizer, toPath: target)
            }
            print("exported step \(reader.manifest.step) of \(reader.directory) to \(out) as Hugging Face BERT")
        } catch let e as CheckpointError {
            throw CLIError(e.message, exitCode: 1)
        } catch let e as ModelError {
            throw CLIError(e.message, exitCode: 1)
        }
    }
}
