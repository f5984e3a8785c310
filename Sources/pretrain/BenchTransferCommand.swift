import ArgumentParser
import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Training
import Support

/// `pretrain bench transfer`: does pretraining help a downstream classifier? Pretrains a BERT (masked
/// LM) or a GPT (causal LM) in-process, then fine-tunes it and an identical freshly initialised model
/// for the same steps.
struct BenchTransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Fine-tune a pretrained BERT or GPT and the same model from scratch; print test accuracies.",
        discussion: """
        Pretrains `model.arch: bert` (masked LM; --arch bert, the default) or `model.arch: gpt` (causal LM;
        --arch gpt) with the given run config (one process, --pretrain-steps steps), then trains a
        classifier (BERT: on the pooled [CLS]; GPT: on the last token) on TASK/train.jsonl twice — body
        from the pretrained model, and from scratch — with the same seed, steps and batches, and reports
        accuracy on TASK/test.jsonl. With --checkpoint the body comes from a checkpoint of a real
        (mpirun) pretraining run instead, and --seeds N repeats both fine-tunings with N seeds.
        Example: pretrain data fortunes-task --out data/fortunes-task
                 pretrain bench transfer --config configs/tiny.yaml --task data/fortunes-task --arch gpt
                 pretrain bench transfer --checkpoint runs/gpt/checkpoints --task data/fortunes-task --seeds 3
        """)

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
        guard pretrainSteps >= 1, finetuneSteps >= 1, microBatch >= 1, threads >= 1, seeds >= 1 else {
            throw CLIError("--pretrain-steps, --finetune-steps, --micro-batch, --threads and --seeds must be at least 1")
        }
        guard let family = Architecture(rawValue: arch) else { throw CLIError("--arch \(arch) is not a model family; use --arch bert or --arch gpt") }
        if let checkpoint { return try runFromCheckpoint(checkpoint) }
        let run: RunConfig
        do {
            run = try ConfigLoader.load(path: config, overrides: ["model.arch=\(arch)", "training.objective=\(family == .bert ? "mlm" : "clm")", "num_processes=1",
                                                                  "training.steps=\(pretrainSteps)", "training.global_batch=0",
                                                                  "training.gradient_accumulation_steps=1", "data.val="] + overrides)
        } catch let e as ConfigError { throw CLIError(e.message) }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer.load(from: run.data.tokenizer) } catch let e as DataError { throw CLIError("\(e)") }
        let (train, test) = try loadTask()
        Parallel.setThreads(threads)
        let K = train.labelNames.count
        switch family {
        case .bert:
            var classifier = run.bertConfig
            classifier.nsp = false
            classifier.numLabels = K
            try compare(FineTuner<BERT>.self, config: classifier, pretrained: try pretrain(BERT.self, run), run: run, tokenizer: tokenizer, train: train, test: test)
        case .gpt:
            var classifier = run.gptConfig
            classifier.numLabels = K
            try compare(FineTuner<GPT>.self, config: classifier, pretrained: try pretrain(GPT.self, run), run: run, tokenizer: tokenizer, train: train, test: test)
        }
    }

    /// The comparison for a pretrained checkpoint: its config, tokenizer and body.
    private func runFromCheckpoint(_ path: String) throws {
        let opened = try ModelCheckpoint.open(path)
        let reader = opened.reader, run = opened.config
        guard run.family.numLabels == 0 else {
            throw CLIError("\(reader.directory) is already a classifier (model.num_labels \(run.family.numLabels)); give a pretrained language-model checkpoint")
        }
        Parallel.setThreads(threads)
        let tokenizer = try opened.tokenizer()
        let (train, test) = try loadTask()
        print("pretrained: \(reader.directory) (\(run.family.arch.rawValue), step \(reader.manifest.step), \(reader.manifest.tokensSeen) tokens)")
        let K = train.labelNames.count
        switch opened.architecture {
        case .bert:
            let body = try opened.bert(batch: 1, seqLen: 1)
            var classifier = run.bertConfig
            classifier.nsp = false
            classifier.numLabels = K
            try compare(FineTuner<BERT>.self, config: classifier, pretrained: body, run: run, tokenizer: tokenizer, train: train, test: test)
        case .gpt:
            let body = try opened.gpt(batch: 1, seqLen: 1)
            var classifier = run.gptConfig
            classifier.numLabels = K
            try compare(FineTuner<GPT>.self, config: classifier, pretrained: body, run: run, tokenizer: tokenizer, train: train, test: test)
        }
    }

    /// TASK/train.jsonl and TASK/test.jsonl (test labels named as in train).
    private func loadTask() throws -> (ClassificationDataset, ClassificationDataset) {
        do {
            let train = try ClassificationDataset.load(path: task + "/train.jsonl")
            return (train, try ClassificationDataset.load(path: task + "/test.jsonl", labelNames: train.labelNames))
        } catch let e as DataError { throw CLIError("\(e)") }
    }

    /// Pretrains the run's model in-process (one rank) and returns it.
    private func pretrain<M: LanguageModel>(_: M.Type, _ run: RunConfig) throws -> M {
        let start = Date()
        var pretrainLoss: Float = .nan
        let pretrained = try InProcessGroup.run(size: 1) { comm -> M in
            let trainer = try Trainer(config: run, comm: comm, threads: threads) { event in
                if case let .step(m) = event { pretrainLoss = m.loss }
            }
            try trainer.run()
            return trainer.model as! M
        }[0]
        print("pretrained \(pretrainSteps) \(run.objective == .mlm ? "MLM" : "causal-LM") steps in \(String(format: "%.0f", Date().timeIntervalSince(start))) s, final loss \(pretrainLoss)")
        return pretrained
    }

    /// Fine-tunes the pretrained body and a fresh one with the same seed, steps and batches; prints both accuracies.
    private func compare<C: SequenceClassifier>(_: FineTuner<C>.Type, config classifier: C.Config, pretrained: some LanguageModel, run: RunConfig,
                                                 tokenizer: Tokenizer, train: ClassificationDataset, test: ClassificationDataset) throws {
        var settings = run.optimizer
        settings.lr = lr
        let majority = Dictionary(grouping: test.labels, by: { $0 }).values.map(\.count).max() ?? 0
        print("task: \(train.texts.count) train, \(test.texts.count) test, \(train.labelNames.count) labels (\(train.labelNames.joined(separator: ", "))); majority class \(String(format: "%.1f", 100 * Double(majority) / Double(test.texts.count))) % of test")
        var accuracies: [String: [Double]] = [:]
        for k in 0..<seeds {
            let seed = UInt64(run.training.seed) &+ UInt64(k)
            for (name, usePretrained) in [("pretrained", true), ("scratch", false)] {
                let tuner = try FineTuner<C>(config: classifier, tokenizer: tokenizer, microBatch: microBatch, sequenceLength: run.training.seqLen,
                                             settings: settings, seed: seed)
                if usePretrained { tuner.loadBody(from: pretrained) }
                let t0 = Date()
                let losses = try tuner.train(train, steps: finetuneSteps, lr: lr)
                let accuracy = try tuner.accuracy(test)
                accuracies[name, default: []].append(accuracy)
                let tail = losses.suffix(20).reduce(0, +) / Float(min(20, losses.count))
                print("\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) seed \(seed): test accuracy \(String(format: "%.1f", accuracy * 100)) %  (train loss, last 20 steps: \(String(format: "%.3f", tail)); \(String(format: "%.0f", Date().timeIntervalSince(t0))) s)")
            }
        }
        if seeds > 1 {
            for name in ["pretrained", "scratch"] {
                let a = accuracies[name] ?? []
                print("\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) mean test accuracy \(String(format: "%.1f", 100 * a.reduce(0, +) / Double(a.count))) % over \(a.count) seeds (\(a.map { String(format: "%.1f", $0 * 100) }.joined(separator: ", ")))")
            }
        }
    }
}
