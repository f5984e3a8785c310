import ArgumentParser
import Benchmarks
import Foundation
import Support
import Training

/// `pretrain bench transfer`: does pretraining help a downstream classifier? Pretrains a BERT (masked
/// LM) or a GPT (causal LM) in-process, then fine-tunes it and an identical freshly initialised model
/// for the same steps.
struct BenchTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Fine-tune a pretrained BERT or GPT and the same model from scratch; print test accuracies.",
        discussion: """
        Pretrains `model.arch: bert` (masked LM; --arch bert, the default) or `model.arch: gpt` (causal LM; --arch gpt) with the given run config (one process, --pretrain-steps steps), then trains a classifier (BERT: on the pooled [CLS]; GPT: on the last token) on TASK/train.jsonl twice — body from the pretrained model, and from scratch — with the same seed, steps and batches, and reports accuracy on TASK/test.jsonl. With --checkpoint the body comes from a checkpoint of a real (mpirun) pretraining run instead, and --seeds N repeats both fine-tunings with N seeds.

        Example: pretrain data fortunes-task --out data/fortunes-task
                 pretrain bench transfer --config configs/tiny.yaml --task data/fortunes-task --arch gpt
                 pretrain bench transfer --checkpoint runs/gpt/checkpoints --task data/fortunes-task --seeds 3
        """.helpParagraphs)

    @Option(help: "Pretraining run config (YAML).") var config: String = "configs/tiny.yaml"
    @Option(name: .customLong("set"), help: "Override a config key of the pretraining run (key=value; repeatable).") var overrides: [String] = []
    @Option(help: "Directory with train.jsonl and test.jsonl.") var task: String = "data/fortunes-task"
    @Option(help: "bert (masked-LM pretraining) or gpt (causal-LM pretraining).") var arch: String = "bert"
    @Option(help: "Pretraining steps.") var pretrainSteps: Int = 300
    @Option(help: "Fine-tuning steps (micro-batches) for each of the two classifiers.") var finetuneSteps: Int = 300
    @Option(help: "Fine-tuning learning rate.") var lr: Float = 1e-3
    @Option(help: "Fine-tuning micro-batch.") var microBatch: Int = 16
    @Option(help: "Compute threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Start from this pretrained checkpoint (GPT or BERT, a step directory or a run's checkpoint.dir) instead of pretraining in-process; its config replaces --config, --set and --arch.")
    var checkpoint: String?
    @Option(help: "Fine-tune each classifier with this many seeds (the run's seed, +1, …) and report each and the mean.") var seeds: Int = 1

    func run() throws {
        let settings = try TransferBenchmark.Settings(arch: arch, pretrainSteps: pretrainSteps, finetuneSteps: finetuneSteps, lr: lr,
                                                      microBatch: microBatch, threads: threads, seeds: seeds)
        if let checkpoint { return try runFromCheckpoint(checkpoint, settings) }
        let (run, tokenizer) = try TransferBenchmark.pretrainingRun(config: config, overrides: overrides, settings)
        let (train, test) = try TransferBenchmark.loadTask(task)
        Parallel.setThreads(threads)
        let body = try TransferBenchmark.pretrain(settings, run: run) { print($0) }
        _ = try TransferBenchmark.compare(body, settings, run: run, tokenizer: tokenizer, train: train, test: test) { print($0) }
    }

    /// The comparison for a pretrained checkpoint: its config, tokenizer and body.
    private func runFromCheckpoint(_ path: String, _ settings: TransferBenchmark.Settings) throws {
        let opened = try ModelCheckpoint.open(path)
        let reader = opened.reader, run = opened.config
        let body = try TransferBenchmark.body(of: opened)
        Parallel.setThreads(threads)
        let tokenizer = try opened.tokenizer()
        let (train, test) = try TransferBenchmark.loadTask(task)
        print("pretrained: \(reader.directory) (\(run.family.arch.rawValue), step \(reader.manifest.step), \(reader.manifest.tokensSeen) tokens)")
        _ = try TransferBenchmark.compare(body, settings, run: run, tokenizer: tokenizer, train: train, test: test) { print($0) }
    }
}
