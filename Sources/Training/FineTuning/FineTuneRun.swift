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
///
/// Watching it: every `evalEvery` steps rank 0 reports the mean training loss since the last report
/// and, with a test set, its accuracy and loss beside the majority-class baseline (the accuracy of
/// always answering the training set's most frequent label); it writes every step and evaluation to
/// `<out>/metrics/rank-00000.jsonl` (`pretrain plot <out>` draws it). Every `saveEvery` steps, at the
/// end and on SIGINT/SIGTERM/SIGUSR1 it saves a checkpoint with the AdamW moments, and `resume`
/// continues from the newest one in `out`, bitwise as if the run had not stopped.
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
        /// Report (and evaluate on `test`) every N steps; 0: only at the end.
        public var evalEvery = 100
        /// Save a checkpoint every N steps (and at the end); 0: only at the end.
        public var saveEvery = 100
        /// Continue from the newest checkpoint in `out` (a fresh start when there is none).
        public var resume = false
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
        /// The run continues from `directory`, saved after `step` steps (`resume`).
        case resumed(directory: String, step: Int)
        /// Always answering `label` (the training set's most frequent) scores `accuracy` on the test set
        /// (or on the training set when there is none: `onTest` false).
        case baseline(label: String, accuracy: Double, onTest: Bool)
        /// Step `step` of `steps`: the mean training loss since the last report, and the test set's
        /// accuracy and loss when there is one (rank 0).
        case progress(step: Int, steps: Int, loss: Float, test: (accuracy: Double, loss: Double)?)
        /// Training ended: the mean loss over the first and the last `window` steps of this process.
        case trained(first: Float, last: Float, window: Int, seconds: Double)
        /// A checkpoint was written (rank 0): periodic, final, or after `signal` (then the run stops).
        case saved(directory: String, step: Int, signal: Int32)
        /// Accuracy and loss on the held-out examples at the end, beside the baseline (rank 0).
        case accuracy(Double, loss: Double, examples: Int, labels: Int, baseline: Double, majority: String)
    }

    /// What a family's fine-tuning returns.
    public struct Result {
        public let saved: String?
        public let accuracy: Double?
        /// The signal that stopped the run early (its checkpoint saved), or 0.
        public var signal: Int32 = 0
    }

    public let settings: Settings
    let comm: any Communicator
    let events: (Event) -> Void
    // Resolved by `run()` before the family's part.
    var checkpoint: ModelCheckpoint!
    var tokenizer: HuggingFaceTokenizer!
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
        guard s.evalEvery >= 0 else { throw bad("--eval-every \(s.evalEvery) must be 0 (only at the end) or more") }
        guard s.saveEvery >= 0 else { throw bad("--save-every \(s.saveEvery) must be 0 (only at the end) or more") }
        if !s.resume, let existing = CheckpointStore(root: s.out).complete().last {
            throw bad("--out \(s.out) already holds checkpoints (\(existing.path)); add --resume to continue that run, or give a new directory (finetune never writes among existing checkpoints, so none is lost)")
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

    /// The family-independent part: builds the classifier, loads the body (or resumes), trains while
    /// reporting, evaluating and saving, and evaluates at the end (rank 0).
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
        let resumed = try resumeIfAsked(tuner)
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
            if let resumed { events(.resumed(directory: resumed.path, step: resumed.step)) }
            let majority = train.majorityLabel
            events(.baseline(label: names[Int(majority)], accuracy: (heldOut ?? train).share(of: majority), onTest: heldOut != nil))
        }
        let watch = try FineTuneWatch(run: self, resumed: resumed != nil)
        let start = DispatchTime.now().uptimeNanoseconds
        let losses: [Float]
        do {
            losses = try tuner.train(train, steps: s.steps - tuner.stepsDone, lr: s.lr, comm: comm) { step in
                try watch.stepped(step, tuner: tuner)
            }
        } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let window = max(1, min(10, losses.count / 2))
        let first = losses.prefix(window).reduce(0, +) / Float(window), last = losses.suffix(window).reduce(0, +) / Float(window)
        if main, !losses.isEmpty { events(.trained(first: first, last: last, window: window, seconds: seconds)) }
        if watch.signal != 0 { return Result(saved: watch.lastSaved, accuracy: nil, signal: watch.signal) }
        if watch.lastSavedStep != tuner.stepsDone { try watch.save(tuner, signal: 0) }
        guard main else { return Result(saved: nil, accuracy: nil) }
        var accuracy: Double?
        if let heldOut {
            let result = try watch.evaluation ?? watch.evaluate(tuner, heldOut)
            accuracy = result.accuracy
            let majority = train.majorityLabel
            events(.accuracy(result.accuracy, loss: result.loss, examples: heldOut.texts.count, labels: s.labels,
                             baseline: heldOut.share(of: majority), majority: names[Int(majority)]))
        }
        return Result(saved: watch.lastSaved, accuracy: accuracy)
    }

    /// Writes a checkpoint of `tuner` after its `stepsDone` steps into `out` (rank 0): the run's config
    /// with the classifier and the fine-tuning settings recorded, its tokenizer, and the AdamW moments
    /// (zeros outside the trained part) so that `resume` can continue from it.
    func save<C: SequenceClassifier>(_ tuner: FineTuner<C>) throws -> String {
        let s = settings, run = checkpoint.config, model = tuner.model
        var saved = run
        saved.family.nsp = false
        saved.family.numLabels = s.labels
        saved.family.labelNames = names.joined(separator: ",")
        saved.training.seqLen = T
        saved.training.microBatch = s.microBatch
        saved.training.globalBatch = s.microBatch * comm.size
        saved.training.gradientAccumulationSteps = 1
        saved.training.steps = s.steps
        saved.training.seed = Int(clamping: s.seed)
        saved.optimizer.lr = s.lr
        saved.optimizer.weightDecay = s.weightDecay
        saved.optimizer.beta2 = optimizer.beta2
        saved.checkpoint.dir = s.out
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(saved)
        options.tokenizer = s.tokenizer ?? checkpoint.reader.tokenizerPath ?? (FileManager.default.fileExists(atPath: run.data.tokenizer) ? run.data.tokenizer : nil)
        options.optimizerStep = tuner.adam.t
        let adam = tuner.adam, m = try FlatBuffer(count: model.layout.count), v = try FlatBuffer(count: model.layout.count)
        (m.pointer + adam.shard.lowerBound).update(from: adam.m.pointer, count: adam.shard.count)
        (v.pointer + adam.shard.lowerBound).update(from: adam.v.pointer, count: adam.shard.count)
        do {
            return try LocalCheckpoint.save(root: s.out, step: tuner.stepsDone, layout: model.layout, params: model.params, m: m, v: v, options: options)
        } catch let error as CheckpointError {
            throw TrainingError(error.message, exitCode: 2)
        }
    }
}
