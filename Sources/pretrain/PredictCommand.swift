import ArgumentParser
import Checkpoint
import Config
import DataPipeline
import Foundation
import Kernels
import Model
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
        """)

    @Option(help: "A step-NNNNNNNN checkpoint directory (BERT; or a fine-tuned GPT for classify), or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "fill-mask or classify.") var task: String
    @Argument(help: "The text (fill-mask: with one or more [MASK]).") var text: String
    @Option(help: "fill-mask: tokens to show per [MASK].") var topK: Int = 5
    @Option(help: "Compute threads (default: all cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "A tokenizer.json to use instead of the checkpoint's.") var tokenizer: String?

    func run() throws {
        guard ["fill-mask", "classify"].contains(task) else { throw CLIError("--task \(task) is not a prediction task; use fill-mask or classify") }
        guard topK >= 1 else { throw CLIError("--top-k \(topK) must be at least 1") }
        guard threads >= 1 else { throw CLIError("--threads \(threads) must be at least 1") }
        Parallel.setThreads(threads)
        // Open the config first to size the model to this text.
        let opened = try ModelCheckpoint.open(checkpoint)
        let reader = opened.reader, run = opened.config
        switch opened.architecture {
        case .gpt: return try classifyGPT(opened)
        case .bert: break
        }
        let (tok, specials) = try opened.bertTokenizer(explicit: tokenizer)
        var ids = [specials.cls] + tok.encode(text)
        if ids.count + 1 > run.model.maxSeqLen {
            FileHandle.standardError.write(Data("warning: the text has \(ids.count - 1) tokens; only the first \(run.model.maxSeqLen - 2) fit (model.max_seq_len \(run.model.maxSeqLen))\n".utf8))
            ids = Array(ids.prefix(run.model.maxSeqLen - 1))
        }
        ids.append(specials.sep)
        let isClassifier = run.family.numLabels > 0
        if task == "fill-mask", isClassifier {
            throw CLIError("\(reader.directory) is a fine-tuned classifier (model.num_labels \(run.family.numLabels)) without the masked-LM head; use --task classify, or a pretrained (pretrain train) checkpoint for fill-mask")
        }
        if task == "classify", !isClassifier {
            throw CLIError("\(reader.directory) is a masked-LM checkpoint with no classifier head; fine-tune it first (pretrain finetune --task classify), or use --task fill-mask")
        }
        let masks = ids.indices.filter { ids[$0] == specials.mask }
        if task == "fill-mask", masks.isEmpty { throw CLIError("the text has no [MASK] token; write [MASK] where a word should be predicted") }
        let model = try opened.bert(batch: 1, seqLen: ids.count)
        do {
            try model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: nil, B: 1, T: ids.count)
        } catch let error as ModelError {
            throw CLIError(error.message)
        }
        if task == "fill-mask" {
            let V = model.config.vocabSize
            for (n, position) in masks.enumerated() {
                let probabilities = Self.softmax(model.logits + position * V, count: V)
                let best = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }.prefix(topK)
                for (rank, id) in best.enumerated() {
                    let shown = String(decoding: tok.bytes(of: Int32(id)), as: UTF8.self)
                    print("[MASK]\(masks.count > 1 ? "#\(n + 1)" : "") \(rank + 1): \(Self.escape(shown))\t\(String(format: "%.6f", probabilities[id]))\tid \(id)")
                }
            }
        } else {
            Self.printLabel(logits: model.sequenceLogits, run: run)
        }
    }

    /// `--task classify` with a fine-tuned GPT: the text's tokens (no specials), classified on the last.
    private func classifyGPT(_ opened: ModelCheckpoint) throws {
        let reader = opened.reader, run = opened.config
        guard task == "classify" else {
            throw CLIError("\(reader.directory) is a GPT checkpoint (model.arch gpt); fill-mask needs a BERT masked-LM checkpoint — use `pretrain generate` to continue text with a GPT")
        }
        guard run.family.numLabels > 0 else {
            throw CLIError("\(reader.directory) is a GPT language model with no classifier head; fine-tune it first (pretrain finetune --task classify), or use `pretrain generate`")
        }
        let tok = try opened.tokenizer(explicit: tokenizer)
        var ids = tok.encode(text)
        let T = min(run.training.seqLen, run.model.maxSeqLen)
        if ids.count > T {
            FileHandle.standardError.write(Data("warning: the text has \(ids.count) tokens; only the first \(T) are read (training.seq_len of the fine-tuning)\n".utf8))
            ids = Array(ids.prefix(T))
        }
        if ids.isEmpty { ids = [0] }  // as fine-tuning reads an empty text: the padding token alone
        let model = try opened.gpt(batch: 1, seqLen: ids.count, allowClassifier: true)
        do {
            try model.forward(tokens: ids, lengths: [ids.count], labels: nil, B: 1, T: ids.count)
        } catch let error as ModelError {
            throw CLIError(error.message)
        }
        Self.printLabel(logits: model.sequenceLogits, run: run)
    }

    /// Prints the argmax label with its softmax probability, then every label's probability.
    static func printLabel(logits: UnsafePointer<Float>, run: RunConfig) {
        let K = run.family.numLabels
        var names = run.family.labelNames.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if names.count != K { names = (0..<K).map { String($0) } }
        let probabilities = softmax(logits, count: K)
        var best = 0
        for k in 1..<K where probabilities[k] > probabilities[best] { best = k }
        print("label: \(names[best])\t\(String(format: "%.6f", probabilities[best]))\tid \(best)")
        for k in 0..<K { print("  \(names[k])\t\(String(format: "%.6f", probabilities[k]))") }
    }

    /// Softmax of `count` logits, in double precision.
    static func softmax(_ logits: UnsafePointer<Float>, count: Int) -> [Double] {
        var top = -Double.infinity
        for i in 0..<count { top = max(top, Double(logits[i])) }
        var e = (0..<count).map { exp(Double(logits[$0]) - top) }
        let sum = e.reduce(0, +)
        for i in e.indices { e[i] /= sum }
        return e
    }

    /// A token's text with whitespace and control characters made visible.
    static func escape(_ s: String) -> String {
        s.unicodeScalars.map { $0 == " " ? "␣" : ($0.value < 0x20 || $0.value == 0x7F) ? String(format: "\\x%02x", $0.value) : String($0) }.joined()
    }
}
