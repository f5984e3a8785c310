import Checkpoint
import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
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
        /// What to fine-tune for: a classifier (BERT, GPT) or text-to-text pairs (T5).
        public enum Task: String, Sendable {
            case classify, seq2seq

            /// `--task`: classify, or seq2seq under any of its names (text2text, translation, summarization).
            public init(flag: String) throws {
                switch flag {
                case "classify": self = .classify
                case "seq2seq", "text2text", "text2text-generation", "translation", "summarization": self = .seq2seq
                default: throw TrainingError("--task \(flag) is not a fine-tuning task; use --task classify (BERT, GPT) or seq2seq (T5; also text2text, translation, summarization)", exitCode: 2)
                }
            }
        }
        /// `--task`, `--fields SOURCE,TARGET` and `--too-long` from their flag values (one-line errors).
        public mutating func setSeq2Seq(task flag: String, fields: String, tooLong: String) throws {
            task = try Task(flag: flag)
            (sourceField, targetField) = try Seq2SeqExamples.fields(fields)
            guard let value = Seq2SeqExamples.Overflow(rawValue: tooLong) else { throw TrainingError("--too-long \(tooLong): use truncate or refuse", exitCode: 2) }
            overflow = value
        }
        public var task = Task.classify
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
        /// `mixed_precision`: "no" (fp32), "bf16" or "auto" (bf16 where the CPU has it natively).
        public var mixedPrecision = "no"
        /// Micro-batches per rank per step (seq2seq).
        public var accumulation = 1
        /// Seq2seq: the JSON fields of source and target, the task prefix, the target limit (EOS
        /// included; default: --seq-len), and what a longer source or target gets.
        public var sourceField = "source", targetField = "target"
        public var prefix = ""
        public var targetLen: Int?
        public var overflow = Seq2SeqExamples.Overflow.truncate
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
        /// Seq2seq training starts: ranks × accumulation × micro-batch pairs per step, the source and
        /// target limits (tokens with EOS), the training pairs and the task prefix.
        case seq2seqTraining(steps: Int, ranks: Int, accumulation: Int, microBatch: Int, sourceLength: Int, targetLength: Int,
                             pairs: Int, prefix: String)
        /// `count` of the `total` pairs of `file` had a source or target over its limit and were cut to it.
        case truncated(count: Int, total: Int, file: String, sourceLength: Int, targetLength: Int)
        /// Seq2seq step `step`: the mean training loss since the last report, and the test set's loss and
        /// token accuracy (teacher-forced argmax) when there is one (rank 0).
        case seq2seqProgress(step: Int, steps: Int, loss: Float, test: (accuracy: Double, loss: Double)?)
        /// Seq2seq at the end: the test set's loss per target token and token accuracy (rank 0).
        case seq2seqTest(loss: Double, tokenAccuracy: Double, pairs: Int, tokens: Int)
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
    var optimizer = Optimizer.Settings()
    var T = 0
    var train: ClassificationDataset!
    var heldOut: ClassificationDataset?
    var names: [String] = []
    /// Seq2seq: the target limit (0 for a classifier) and the training and test pairs.
    var targetLength = 0
    var pairs: Seq2SeqExamples?, testPairs: Seq2SeqExamples?

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
        guard s.task == .seq2seq || s.labels >= 1 else { throw bad("--labels \(s.labels) must be at least 1") }
        guard s.accumulation >= 1 else { throw bad("--gradient-accumulation-steps \(s.accumulation) must be at least 1") }
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
        job.optimizer.lr = s.lr
        job.optimizer.weightDecay = s.weightDecay
        job.optimizer.beta2 = 0.999
        if s.task == .seq2seq { return try job.runSeq2Seq() }
        guard s.accumulation == 1 else { throw bad("--gradient-accumulation-steps applies to --task seq2seq; a classifier trains one micro-batch per rank per step") }
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
        if let bf16 = try mixedPrecision() { try tuner.useBF16(bf16) }
        let main = comm.rank == 0
        if main {
            events(.loaded(directory: checkpoint.directory, step: checkpoint.reader.manifest.step,
                           loaded: tuner.model.layout.tensors.count - fresh.count, fresh: fresh, frozen: s.freezeBody))
            events(.training(steps: s.steps, ranks: comm.size, microBatch: s.microBatch, tokens: T, examples: train.texts.count, names: names))
            if let resumed { events(.resumed(directory: resumed.path, step: resumed.step)) }
            let majority = train.majorityLabel
            events(.baseline(label: names[Int(majority)], accuracy: (heldOut ?? train).share(of: majority), onTest: heldOut != nil))
        }
        let watch = try FineTuneWatch(run: self, resumed: resumed != nil, tokensPerStep: s.microBatch * comm.size * T,
                                      test: heldOut.map { data in { try tuner.evaluate(data) } })
        if let stopped = try drive(tuner, watch: watch, { try tuner.train(train, steps: s.steps - tuner.stepsDone, lr: s.lr, comm: comm, onStep: $0) }) {
            return stopped
        }
        guard main else { return Result(saved: nil, accuracy: nil) }
        var accuracy: Double?
        if let heldOut {
            let result = try watch.evaluation ?? watch.evaluate()
            accuracy = result.accuracy
            let majority = train.majorityLabel
            events(.accuracy(result.accuracy, loss: result.loss, examples: heldOut.texts.count, labels: s.labels,
                             baseline: heldOut.share(of: majority), majority: names[Int(majority)]))
        }
        return Result(saved: watch.lastSaved, accuracy: accuracy)
    }

    /// The bf16 matmul of `--mixed-precision bf16`, nil for fp32; a one-line error for other values.
    func mixedPrecision() throws -> BF16Matmul? {
        var run = RunConfig()
        do { try ConfigLoader.apply(override: "mixed_precision=\(settings.mixedPrecision)", to: &run) } catch let e as ConfigError {
            throw TrainingError(e.message, exitCode: 2)
        }
        return try Trainer.mixedPrecision(run)
    }

    /// Trains with `body` (the tuner's `train` given the watch's step callback), reports the loss at the
    /// start and end, and saves the last step unless the watch already did; returns the result when a
    /// signal stopped the run (its checkpoint saved), else nil (every rank).
    func drive<F: FineTuning>(_ tuner: F, watch: FineTuneWatch, _ body: (@escaping (FineTuneStep) throws -> Bool) throws -> [Float]) throws -> Result? {
        let start = DispatchTime.now().uptimeNanoseconds
        let losses: [Float]
        do { losses = try body { try watch.stepped($0, tuner: tuner) } } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let window = max(1, min(10, losses.count / 2))
        let first = losses.prefix(window).reduce(0, +) / Float(window), last = losses.suffix(window).reduce(0, +) / Float(window)
        if comm.rank == 0, !losses.isEmpty { events(.trained(first: first, last: last, window: window, seconds: seconds)) }
        if watch.signal != 0 { return Result(saved: watch.lastSaved, accuracy: nil, signal: watch.signal) }
        if watch.lastSavedStep != tuner.stepsDone { try watch.save(tuner, signal: 0) }
        return nil
    }

    /// Writes a checkpoint of `tuner` after its `stepsDone` steps into `out` (rank 0): the run's config
    /// with the classifier (or the seq2seq limits and prefix) and the fine-tuning settings recorded, its
    /// tokenizer, and the AdamW moments (zeros outside the trained part) so that `resume` can continue.
    func save(_ tuner: some FineTuning) throws -> String {
        let s = settings, run = checkpoint.config, model = tuner.trained
        var saved = run
        saved.family.nsp = false
        saved.family.numLabels = s.labels
        saved.family.labelNames = names.joined(separator: ",")
        saved.training.seqLen = T
        saved.training.targetLen = targetLength
        saved.data.sourcePrefix = s.task == .seq2seq ? s.prefix : run.data.sourcePrefix
        saved.training.microBatch = s.microBatch
        saved.training.globalBatch = s.microBatch * s.accumulation * comm.size
        saved.training.gradientAccumulationSteps = s.accumulation
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
