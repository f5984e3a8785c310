import ArgumentParser
import Distributed
import Foundation
import Training

/// `pretrain finetune`: a pretrained BERT or GPT body with a fresh classifier head, trained on labelled texts.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pretrained BERT or GPT checkpoint as a text classifier (a new head on [CLS] or the last token).",
        discussion: """
        Example:
          pretrain finetune --checkpoint runs/bert/checkpoints --task classify --data data/task/train.jsonl \\
              --test data/task/test.jsonl --labels 4 --steps 300 --out runs/bert-classify
        --data holds JSON lines {"text": "…", "label": …}, labels all names or all ids 0…N−1. The body is
        loaded from the checkpoint and a fresh head replaces the pretraining one: BERT (model.arch bert)
        keeps embeddings and encoder, with a new pooler and (N, d_model) classifier on [CLS]; GPT
        (model.arch gpt) keeps every tensor of the language model, with a new (N, d_model) score.weight
        on the last token of each text (as Hugging Face's GPT2ForSequenceClassification; the text is
        truncated to --seq-len tokens, no special tokens added). --freeze-body trains only the new head.
        The result is a checkpoint in --out (model.num_labels and model.label_names in its config) for
        `pretrain predict --task classify` and `pretrain checkpoint export`. Under mpirun it is
        data-parallel: each rank takes its own micro-batch of every step (global batch = ranks ×
        --micro-batch) and the gradients are averaged; rank 0 prints, saves and evaluates.
        """)

    @Option(help: "A BERT or GPT step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "The fine-tuning task (classify).") var task: String = "classify"
    @Option(help: "Training examples: JSON lines {\"text\": …, \"label\": …}.") var data: String
    @Option(help: "Held-out examples (same format): print their accuracy at the end.") var test: String?
    @Option(help: "N: number of labels.") var labels: Int
    @Option(help: "Label names in id order, comma-separated (default: the data's names, sorted).") var labelNames: String?
    @Flag(help: "Train only the new head (the pretrained body stays as loaded).") var freezeBody = false
    @Option(help: "Optimizer steps (one micro-batch each).") var steps: Int = 200
    @Option(help: "AdamW learning rate (constant).") var lr: Float = 1e-3
    @Option(help: "AdamW weight decay.") var weightDecay: Float = 0.01
    @Option(help: "B: examples per step.") var microBatch: Int = 8
    @Option(help: "T: tokens per example (BERT: with [CLS] and [SEP]; default: the checkpoint's training.seq_len).") var seqLen: Int?
    @Option(help: "Seed of the new head, the example order and dropout.") var seed: UInt64 = 1337
    @Option(help: "Directory of the fine-tuned checkpoint (step-NNNNNNNN inside).") var out: String
    @Option(help: "Compute threads per rank (default: cores ÷ ranks on the host).") var threads: Int?
    @Option(help: "A tokenizer.json to use instead of the checkpoint's.") var tokenizer: String?
    @Option(help: "no (fp32) or bf16: linear layers multiply bf16 operands, weights stay fp32 (as mixed_precision).") var mixedPrecision = "no"

    func run() throws { try runUnderMPI(finetune) }

    func finetune(comm: any Communicator) throws {
        guard task == "classify" else { throw CLIError("--task \(task) is not a fine-tuning task; use --task classify") }
        var settings = FineTuneRun.Settings()
        settings.checkpoint = checkpoint
        settings.data = data
        settings.test = test
        settings.labels = labels
        settings.labelNames = labelNames
        settings.freezeBody = freezeBody
        settings.steps = steps
        settings.lr = lr
        settings.weightDecay = weightDecay
        settings.microBatch = microBatch
        settings.seqLen = seqLen
        settings.seed = seed
        settings.out = out
        settings.threads = threads
        settings.tokenizer = tokenizer
        settings.mixedPrecision = mixedPrecision
        try FineTuneRun(settings: settings, comm: comm) { event in
            switch event {
            case let .loaded(directory, step, loaded, fresh, frozen):
                print("loaded \(loaded) tensors from \(directory) (step \(step)); new head: \(fresh.isEmpty ? "none (the checkpoint already has this head)" : fresh.joined(separator: ", "))\(frozen ? " (body frozen)" : "")")
            case let .training(steps, ranks, microBatch, tokens, examples, names):
                print("training \(steps) steps × \(ranks) rank(s) × \(microBatch) examples of \(tokens) tokens on \(examples) examples, \(names.count) labels (\(names.joined(separator: ", ")))")
            case let .trained(first, last, window, seconds):
                print(String(format: "loss %.4f (first %d steps) → %.4f (last %d) in %.1f s", first, window, last, window, seconds))
            case let .saved(directory):
                print("saved \(directory)")
            case let .accuracy(accuracy, examples, labels):
                print(String(format: "test accuracy %.4f (%d examples, %d labels)", accuracy, examples, labels))
            }
        }.run()
    }
}
