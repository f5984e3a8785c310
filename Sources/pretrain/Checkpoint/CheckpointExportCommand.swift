import ArgumentParser
import Checkpoint
import Config
import Foundation
import Model
import Training

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
        A T5 loads with T5ForConditionalGeneration; a Transformer (model.arch: transformer) is a PyTorch
        state_dict for torch.nn.Transformer (config.json: its arguments; Tests/ModelTests/Fixtures/check_transformer_export.py).
        """.helpParagraphs)

    @OptionGroup var checkpoint: CheckpointArgument
    @Option(help: "Output format (safetensors).") var format: String = "safetensors"
    @Option(help: "Output directory (created).") var out: String

    func run() throws {
        guard format == "safetensors" else { throw CLIError("--format \(format) is not supported; use --format safetensors") }
        let reader = try checkpoint.open()
        let model = try ModelCheckpoint(reader: reader)
        let written = try model.family.exportHuggingFace(model, to: out)
        print("exported step \(reader.manifest.step) of \(reader.directory) to \(out)\(written)")
    }
}
