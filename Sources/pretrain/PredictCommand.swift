import ArgumentParser
import Foundation
import Training
import Support

/// `pretrain predict`: fill [MASK] tokens with a masked-LM checkpoint, or classify a text with a
/// fine-tuned one.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Fill [MASK] (masked-LM checkpoint) or classify a text (fine-tuned checkpoint).",
        discussion: """
        Examples:
          pretrain predict --checkpoint runs/bert/checkpoints --task fill-mask "The [MASK] sat on the mat." --top-k 5
          pretrain predict --checkpoint runs/bert-classify --task classify "Computers are useless."
        BERT (model.arch bert) encodes the text as [CLS] text [SEP] (truncated to model.max_seq_len);
        fill-mask prints, for each [MASK], the top-k tokens with their softmax probabilities
        ("[MASK] 1: token<TAB>p"), most likely first. classify prints the predicted label and its
        probability, then every label's probability ("label<TAB>p"); it needs a `pretrain finetune`
        checkpoint, BERT or GPT (model.arch gpt: the text's tokens as fine-tuning read them, truncated to
        its training.seq_len, classified on the last one). fill-mask is BERT's only.
        """.helpParagraphs)

    @Option(help: "A step-NNNNNNNN checkpoint directory (BERT; or a fine-tuned GPT for classify), or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "fill-mask, classify, or (T5) text2text-generation, translation, summarization.") var task: String
    @Argument(help: "The text (fill-mask: with one or more [MASK]).") var text: String
    @Option(help: "fill-mask: tokens to show per [MASK].") var topK: Int = 5
    @Option(help: "T5: new tokens at most (greedy decoding).") var maxNewTokens: Int = 64
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "A tokenizer.json to use instead of the checkpoint's.") var tokenizer: String?

    func run() throws {
        guard let kind = TextPredictor.Task(rawValue: task) else { throw CLIError("--task \(task) is not a prediction task; use fill-mask, classify, text2text-generation, translation or summarization") }
        guard topK >= 1 else { throw CLIError("--top-k \(topK) must be at least 1") }
        guard threads ?? 1 >= 1 else { throw CLIError("--threads \(threads!) must be at least 1") }
        Parallel.setThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        var predictor = TextPredictor(checkpoint: try ModelCheckpoint.open(checkpoint), tokenizer: tokenizer)
        predictor.maxNewTokens = maxNewTokens
        let prediction = try predictor.predict(text, task: kind, topK: topK) { warning in
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        switch prediction {
        case let .masks(masks):
            for (n, mask) in masks.enumerated() {
                for (rank, candidate) in mask.candidates.enumerated() {
                    print("[MASK]\(masks.count > 1 ? "#\(n + 1)" : "") \(rank + 1): \(Self.escape(candidate.text))\t\(String(format: "%.6f", candidate.probability))\tid \(candidate.id)")
                }
            }
        case let .text(text, _):
            print(text)
        case let .label(label):
            print("label: \(label.names[label.best])\t\(String(format: "%.6f", label.probabilities[label.best]))\tid \(label.best)")
            for (name, p) in zip(label.names, label.probabilities) { print("  \(name)\t\(String(format: "%.6f", p))") }
        }
    }

    /// A token's text with whitespace and control characters made visible.
    static func escape(_ s: String) -> String {
        s.unicodeScalars.map { $0 == " " ? "␣" : ($0.value < 0x20 || $0.value == 0x7F) ? String(format: "\\x%02x", $0.value) : String($0) }.joined()
    }
}
