import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Training

/// Does pretraining help a downstream classifier? Fine-tunes a pretrained BERT or GPT body and an
/// identical freshly initialised one with the same seed, steps and batches, and compares test accuracy.
public enum TransferBenchmark {
    /// The fine-tuning side of the comparison.
    public struct Settings: Sendable {
        /// bert (masked-LM pretraining) or gpt (causal-LM pretraining).
        public var arch: Architecture
        public var pretrainSteps: Int
        /// Fine-tuning steps (micro-batches) for each of the two classifiers.
        public var finetuneSteps: Int
        public var lr: Float
        public var microBatch: Int
        public var threads: Int
        /// Fine-tune each classifier with this many seeds (the run's seed, +1, …).
        public var seeds: Int

        /// Checks the values, throwing the command line's one-line messages.
        public init(arch: String, pretrainSteps: Int, finetuneSteps: Int, lr: Float, microBatch: Int, threads: Int, seeds: Int) throws {
            guard pretrainSteps >= 1, finetuneSteps >= 1, microBatch >= 1, threads >= 1, seeds >= 1 else {
                throw BenchmarkError("--pretrain-steps, --finetune-steps, --micro-batch, --threads and --seeds must be at least 1")
            }
            guard let family = Architecture(rawValue: arch), family != .t5, family != .transformer else {
                throw BenchmarkError("--arch \(arch) is not a classifier family; use --arch bert or --arch gpt")
            }
            (self.arch, self.pretrainSteps, self.finetuneSteps, self.lr) = (family, pretrainSteps, finetuneSteps, lr)
            (self.microBatch, self.threads, self.seeds) = (microBatch, threads, seeds)
        }
    }

    /// A pretrained body (from a checkpoint or `pretrain`).
    public enum Body {
        case bert(BERT)
        case gpt(GPT)
    }

    /// Test accuracies per seed, for "pretrained" and "scratch".
    public struct Result: Sendable {
        public var accuracies: [String: [Double]] = [:]
    }

    /// TASK/train.jsonl and TASK/test.jsonl (test labels named as in train).
    public static func loadTask(_ task: String) throws -> (train: ClassificationDataset, test: ClassificationDataset) {
        do {
            let train = try ClassificationDataset.load(path: task + "/train.jsonl")
            return (train, try ClassificationDataset.load(path: task + "/test.jsonl", labelNames: train.labelNames))
        } catch let e as DataError { throw BenchmarkError("\(e)") }
    }

    /// Pretrains the run's model in-process (one rank, `settings.arch`); `log` gets the summary line.
    public static func pretrain(_ s: Settings, run: RunConfig, log: (String) -> Void) throws -> Body {
        switch s.arch {
        case .bert: .bert(try pretrain(BERT.self, s, run, log: log))
        case .gpt: .gpt(try pretrain(GPT.self, s, run, log: log))
        case .t5, .transformer: throw BenchmarkError("the transfer benchmark fine-tunes classifiers; \(s.arch.displayName) is not one")
        }
    }

    private static func pretrain<M: LanguageModel>(_: M.Type, _ s: Settings, _ run: RunConfig, log: (String) -> Void) throws -> M {
        let start = Date()
        var pretrainLoss: Float = .nan
        let pretrained = try InProcessGroup.run(size: 1) { comm -> M in
            let trainer = try Trainer(config: run, comm: comm, threads: s.threads) { event in
                if case let .step(m) = event { pretrainLoss = m.loss }
            }
            try trainer.run()
            return trainer.model as! M
        }[0]
        log("pretrained \(s.pretrainSteps) \(run.objective == .mlm ? "MLM" : "causal-LM") steps in \(String(format: "%.0f", Date().timeIntervalSince(start))) s, final loss \(pretrainLoss)")
        return pretrained
    }

    /// Fine-tunes `body` and a fresh model of the same shape (`run`'s config with the task's labels);
    /// `log` receives the task line and one line per fine-tuning as it ends, then the means.
    public static func compare(_ body: Body, _ s: Settings, run: RunConfig, tokenizer: HuggingFaceTokenizer,
                               train: ClassificationDataset, test: ClassificationDataset, log: (String) -> Void) throws -> Result {
        let K = train.labelNames.count
        switch body {
        case let .bert(model):
            var classifier = run.bertConfig
            classifier.nsp = false
            classifier.numLabels = K
            return try compare(FineTuner<BERT>.self, config: classifier, pretrained: model, s, run: run, tokenizer: tokenizer, train: train, test: test, log: log)
        case let .gpt(model):
            var classifier = run.gptConfig
            classifier.numLabels = K
            return try compare(FineTuner<GPT>.self, config: classifier, pretrained: model, s, run: run, tokenizer: tokenizer, train: train, test: test, log: log)
        }
    }

    private static func compare<C: SequenceClassifier>(_: FineTuner<C>.Type, config classifier: C.Config, pretrained: some LanguageModel, _ s: Settings,
                                                        run: RunConfig, tokenizer: HuggingFaceTokenizer, train: ClassificationDataset, test: ClassificationDataset,
                                                        log: (String) -> Void) throws -> Result {
        var settings = run.optimizer
        settings.lr = s.lr
        let majority = Dictionary(grouping: test.labels, by: { $0 }).values.map(\.count).max() ?? 0
        log("task: \(train.texts.count) train, \(test.texts.count) test, \(train.labelNames.count) labels (\(train.labelNames.joined(separator: ", "))); majority class \(String(format: "%.1f", 100 * Double(majority) / Double(test.texts.count))) % of test")
        var result = Result()
        for k in 0..<s.seeds {
            let seed = UInt64(run.training.seed) &+ UInt64(k)
            for (name, usePretrained) in [("pretrained", true), ("scratch", false)] {
                let tuner = try FineTuner<C>(config: classifier, tokenizer: tokenizer, microBatch: s.microBatch, sequenceLength: run.training.seqLen,
                                             settings: settings, seed: seed)
                if usePretrained { tuner.loadBody(from: pretrained) }
                let t0 = Date()
                let losses = try tuner.train(train, steps: s.finetuneSteps, lr: s.lr)
                let accuracy = try tuner.accuracy(test)
                result.accuracies[name, default: []].append(accuracy)
                let tail = losses.suffix(20).reduce(0, +) / Float(min(20, losses.count))
                log("\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) seed \(seed): test accuracy \(String(format: "%.1f", accuracy * 100)) %  (train loss, last 20 steps: \(String(format: "%.3f", tail)); \(String(format: "%.0f", Date().timeIntervalSince(t0))) s)")
            }
        }
        if s.seeds > 1 { result.meanLines.forEach(log) }
        return result
    }
}

extension TransferBenchmark.Result {
    /// "pretrained mean test accuracy …" and the same for scratch.
    public var meanLines: [String] {
        ["pretrained", "scratch"].map { name in
            let a = accuracies[name] ?? []
            return "\(name.padding(toLength: 10, withPad: " ", startingAt: 0)) mean test accuracy \(String(format: "%.1f", 100 * a.reduce(0, +) / Double(a.count))) % over \(a.count) seeds (\(a.map { String(format: "%.1f", $0 * 100) }.joined(separator: ", ")))"
        }
    }
}
