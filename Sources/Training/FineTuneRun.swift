import Checkpoint
import Config
import DataPipeline
import Distributed
import Foundation
import Model
import Support

/// `pretrain finetune`'s workflow: a pretrained body from a checkpoint, a fresh classifier head,
/// data-parallel training on labelled texts, the fine-tuned checkpoint and its held-out accuracy.
///
/// The command parses and prints; this type checks the settings, loads, trains, saves and reports
/// each stage as a `FineTuneRun.Event`. Every rank trains on its own micro-batch of each step; rank 0
/// saves and evaluates (every rank holds the same weights).
public struct FineTuneRun {
    /// What the user asked for (flags of `pretrain finetune`).
    public struct Settings {
        public var checkpoint = ""
        public var data = ""
        public var test: String?
        public var labels = 0
        public var labelNames: String?
        public var freezeBody = false
        public var steps = 200
        public var lr: Float = 1e-3
        public var weightDecay: Float = 0.01
        public var microBatch = 8
        public var seqLen: Int?
        public var seed: UInt64 = 1337
        public var out = ""
        public var threads: Int?
        public var tokenizer: String?
        /// `mixed_precision`: "no" (fp32) or "bf16".
        public var mixedPrecision = "no"
        public init() {}
    }

    /// One stage of the run, for the command to print.
    public enum Event {
        /// The body came from `directory` at `step`: `loaded` tensors, `fresh` the new head's names.
        case loaded(directory: String, step: Int, loaded: Int, fresh: [String], frozen: Bool)
        /// Training starts: ranks, examples, tokens per example, label names.
        case training(steps: Int, ranks: Int, microBatch: Int, tokens: Int, examples: Int, names: [String])
        /// Training ended: the mean loss over the first and the last `window` steps.
        case trained(first: Float, last: Float, window: Int, seconds: Double)
        /// The fine-tuned checkpoint was written (rank 0).
        case saved(directory: String)
        /// Accuracy on the held-out examples (rank 0).
        case accuracy(Double, examples: Int, labels: Int)
    }

    /// What a family's fine-tuning returns.
    public struct Result {
        public let saved: String?
        public let accuracy: Double?
    }

    public let settings: Settings
    let comm: any Communicator
    let events: (Event) -> Void
    // Resolved by `run()` before the family's part.
    var checkpoint: ModelCheckpoint!
    var tokenizer: Tokenizer!
    var optimizer = AdamWOptimizer.Settings()
    var T = 0
    var train: ClassificationDataset!
    var heldOut: ClassificationDataset?
    var names: [String] = []

    /// A run of `settings` over `comm`, reporting through `events`.
    public init(settings: Settings, comm: any Communicator, events: @escaping (Event) -> Void) {
        self.settings = settings
        self.comm = comm
        self.events = events
    }

    /// Checks the settings, loads the checkpoint and data, and fine-tunes (one-line `TrainingError`s).
    @discardableResult
    public func run() throws -> Result {
        let s = settings
        func bad(_ message: String) -> TrainingError { TrainingError(message, exitCode: 2) }
        guard s.labels >= 1 else { throw bad("--labels \(s.labels) must be at least 1") }
        guard s.steps >= 1 else { throw bad("--steps \(s.steps) must be at least 1") }
        guard s.microBatch >= 1 else { throw bad("--micro-batch \(s.microBatch) must be at least 1") }
        if let existing = CheckpointStore(root: s.out).complete().last {
            throw bad("--out \(s.out) already holds checkpoints (\(existing.path)); give a new directory (finetune never writes among existing checkpoints, so none is lost)")
        }
        let n = s.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize))
        guard n >= 1 else { throw bad("--threads \(n) must be at least 1") }
        guard s.lr > 0, s.lr.isFinite else { throw bad("--lr \(s.lr) must be a positive number") }
        Parallel.setThreads(n)
        var job = self
        job.checkpoint = try ModelCheckpoint.open(s.checkpoint)
        let run = job.checkpoint.config
        let family = job.checkpoint.family
        job.tokenizer = family.architecture == .bert ? try job.checkpoint.bertTokenizer(explicit: s.tokenizer).0
                                                      : try job.checkpoint.tokenizer(explicit: s.tokenizer)
        let names = try s.labelNames.map { list -> [String] in
            let names = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard names.count == s.labels, !names.contains("") else {
                throw bad("--label-names '\(list)' gives \(names.count) name(s) for --labels \(s.labels); give exactly \(s.labels) non-empty comma-separated names")
            }
            return names
        }
        do {
            job.train = try ClassificationDataset.load(path: s.data, numLabels: s.labels, labelNames: names)
            if let test = s.test { job.heldOut = try ClassificationDataset.load(path: test, numLabels: s.labels, labelNames: job.train.labelNames) }
        } catch let error as DataError {
            throw bad("\(error)")
        }
        // Names: exactly N, padded with ids when the data named fewer than N.
        var finalNames = names ?? job.train.labelNames
        if finalNames.count < s.labels { finalNames += (finalNames.count..<s.labels).map { String($0) } }
        if let comma = finalNames.first(where: { $0.contains(",") }) {
            throw bad("\(s.data): label name '\(comma)' contains a comma; rename it (the checkpoint stores the names comma-separated)")
        }
        job.names = finalNames
        let minimum = family.minimumClassifierSequenceLength
        job.T = s.seqLen ?? min(run.training.seqLen, run.model.maxSeqLen)
        guard job.T >= minimum, job.T <= run.model.maxSeqLen else {
            throw bad("--seq-len \(job.T) must be in \(minimum)…\(run.model.maxSeqLen) (model.max_seq_len of the checkpoint)")
        }
        job.optimizer.lr = s.lr
        job.optimizer.weightDecay = s.weightDecay
        job.optimizer.beta2 = 0.999
        return try family.fineTune(job, checkpoint: job.checkpoint, labels: s.labels)
    }

    /// The family-independent part: builds the classifier, loads the body, trains, saves (rank 0) and
    /// evaluates.
    func tune<C: SequenceClassifier>(_: FineTuner<C>.Type, config: C.Config, body: some LanguageModel) throws -> Result {
        let s = settings
        let tuner: FineTuner<C>
        do {
            tuner = try FineTuner<C>(config: config, tokenizer: tokenizer, microBatch: s.microBatch, sequenceLength: T,
                                     settings: optimizer, seed: s.seed, freezeBody: s.freezeBody)
        } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        } catch let error as DataError {
            throw TrainingError("\(error)", exitCode: 2)
        }
        let fresh = tuner.loadBody(from: body)
        var run = RunConfig()
        do { try ConfigLoader.apply(override: "mixed_precision=\(s.mixedPrecision)", to: &run) } catch let e as ConfigError {
            throw TrainingError(e.message, exitCode: 2)
        }
        if let bf16 = try Trainer.mixedPrecision(run) { tuner.useBF16(bf16) }
        let main = comm.rank == 0
        if main {
            events(.loaded(directory: checkpoint.directory, step: checkpoint.reader.manifest.step,
                           loaded: tuner.model.layout.tensors.count - fresh.count, fresh: fresh, frozen: s.freezeBody))
            events(.training(steps: s.steps, ranks: comm.size, microBatch: s.microBatch, tokens: T, examples: train.texts.count, names: names))
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let losses: [Float]
        do { losses = try tuner.train(train, steps: s.steps, lr: s.lr, comm: comm) } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let window = max(1, min(10, s.steps / 2))
        let first = losses.prefix(window).reduce(0, +) / Float(window), last = losses.suffix(window).reduce(0, +) / Float(window)
        if main { events(.trained(first: first, last: last, window: window, seconds: seconds)) }
        guard main else { return Result(saved: nil, accuracy: nil) }
        let directory = try save(tuner.model)
        events(.saved(directory: directory))
        var accuracy: Double?
        if let heldOut {
            do { accuracy = try tuner.accuracy(heldOut) } catch let error as ModelError { throw TrainingError(error.message, exitCode: 2) }
            events(.accuracy(accuracy!, examples: heldOut.texts.count, labels: s.labels))
        }
        return Result(saved: directory, accuracy: accuracy)
    }

    /// Writes the fine-tuned checkpoint: the run's config with the classifier recorded, its tokenizer.
    private func save<C: SequenceClassifier>(_ model: C) throws -> String {
        let s = settings, run = checkpoint.config
        var saved = run
        saved.family.nsp = false
        saved.family.numLabels = s.labels
        saved.family.labelNames = names.joined(separator: ",")
        saved.training.seqLen = T
        saved.training.microBatch = s.microBatch
        saved.training.steps = s.steps
        saved.training.seed = Int(clamping: s.seed)
        saved.optimizer.lr = s.lr
        saved.optimizer.weightDecay = s.weightDecay
        saved.optimizer.beta2 = optimizer.beta2
        saved.checkpoint.dir = s.out
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(saved)
        options.tokenizer = s.tokenizer ?? checkpoint.reader.tokenizerPath ?? (FileManager.default.fileExists(atPath: run.data.tokenizer) ? run.data.tokenizer : nil)
        options.optimizerStep = s.steps
        do {
            return try LocalCheckpoint.save(root: s.out, step: s.steps, layout: model.layout, params: model.params, m: nil, v: nil, options: options)
        } catch let error as CheckpointError {
            throw TrainingError(error.message, exitCode: 2)
        }
    }
}
