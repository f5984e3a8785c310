import ArgumentParser
import Distributed
import Foundation
import Training

/// `pretrain finetune`: a pretrained BERT or GPT body with a fresh classifier head trained on labelled texts, or a T5 on pairs.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a BERT or GPT checkpoint as a text classifier (a new head on [CLS] or the last token), or a T5 on text pairs.",
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
        Every --eval-every steps it prints the training loss and, with --test, the test loss and
        accuracy (the majority-class baseline is printed at the start and the end); every step goes to
        OUT/metrics/rank-00000.jsonl, which `pretrain plot OUT` draws. Checkpoints
        are saved every --save-every steps, at the end, and on Ctrl-C (exit status 130) or
        SIGTERM/SIGUSR1 (75); --resume continues the newest one bitwise.
        """.helpParagraphs)

    @Option(help: "A BERT, GPT (classify) or T5 (seq2seq) step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest).") var checkpoint: String
    @Option(help: "classify (BERT, GPT) or seq2seq (T5 on pairs; also text2text, translation, summarization).") var task: String = "classify"
    @Option(help: "Training examples: JSON lines {\"text\": …, \"label\": …} (seq2seq: {\"source\": …, \"target\": …}).") var data: String
    @Option(help: "Held-out examples (same format): print their accuracy at the end.") var test: String?
    @Option(help: "N: number of labels (classify).") var labels = 0
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
    @Option(help: "Report the training loss (and evaluate --test) every N steps; 0: only at the end.") var evalEvery = 100
    @Option(help: "Save a checkpoint (with the AdamW moments) every N steps; 0: only at the end.") var saveEvery = 100
    @Flag(help: "Continue from the newest checkpoint in --out (give the flags of that run).") var resume = false
    @Option(help: "no (fp32), bf16 (linear layers and attention multiply bf16 operands, weights stay fp32), or auto (bf16 where the CPU has it natively), as mixed_precision.") var mixedPrecision = "no"
    @Option(help: "seq2seq: the source and target JSON fields.") var fields = "source,target"
    @Option(help: "seq2seq: task prefix before each source, e.g. 'translate English to German: '.") var prefix = ""
    @Option(help: "seq2seq: target tokens with EOS (default: --seq-len).") var targetLen: Int?
    @Option(help: "seq2seq: truncate (with a notice) or refuse a source or target over its limit.") var tooLong = "truncate"
    @Option(help: "seq2seq: micro-batches per rank per step.") var gradientAccumulationSteps = 1

    func run() throws {
        var signal: Int32 = 0  // every rank ends with the status of the signal (runUnderMPI turns errors into 2 on ranks > 0)
        try runUnderMPI { signal = try finetune(comm: $0) }
        if signal != 0 { throw ExitCode(PreemptionFlag.exitStatus(after: signal)) }
    }

    func finetune(comm: any Communicator) throws -> Int32 {
        var s = FineTuneRun.Settings()
        (s.prefix, s.targetLen, s.accumulation) = (prefix, targetLen, gradientAccumulationSteps)
        try s.setSeq2Seq(task: task, fields: fields, tooLong: tooLong)
        (s.checkpoint, s.data, s.test, s.labels, s.labelNames, s.freezeBody, s.steps) = (checkpoint, data, test, labels, labelNames, freezeBody, steps)
        (s.lr, s.weightDecay, s.microBatch, s.seqLen, s.seed, s.out, s.threads) = (lr, weightDecay, microBatch, seqLen, seed, out, threads)
        (s.tokenizer, s.evalEvery, s.saveEvery, s.resume, s.mixedPrecision) = (tokenizer, evalEvery, saveEvery, resume, mixedPrecision)
        PreemptionFlag.install()  // after MPI_Init, so that no handler of the MPI library replaces it
        return try FineTuneRun(settings: s, comm: comm) { print($0.message) }.run().signal
    }
}
