import ArgumentParser
import Checkpoint
import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Training
import Support

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

    func run() throws {
        let launcherRank = MPILibrary.launcherLayout?.rank ?? 0
        let comm: MPICommunicator
        do { comm = try MPICommunicator() } catch { throw CLIError("cannot start MPI: \(error)") }
        do {
            try finetune(comm: comm)
            try comm.shutdown()
        } catch {
            try? comm.shutdown()
            if launcherRank == 0 { throw error }
            throw ExitCode(2)
        }
    }

    func finetune(comm: any Communicator) throws {
        guard task == "classify" else { throw CLIError("--task \(task) is not a fine-tuning task; use --task classify") }
        guard labels >= 1 else { throw CLIError("--labels \(labels) must be at least 1") }
        guard steps >= 1 else { throw CLIError("--steps \(steps) must be at least 1") }
        guard microBatch >= 1 else { throw CLIError("--micro-batch \(microBatch) must be at least 1") }
        if let existing = CheckpointStore(root: out).complete().last {
            throw CLIError("--out \(out) already holds checkpoints (\(existing.path)); give a new directory (finetune never writes among existing checkpoints, so none is lost)")
        }
        let n = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize))
        guard n >= 1 else { throw CLIError("--threads \(n) must be at least 1") }
        guard lr > 0, lr.isFinite else { throw CLIError("--lr \(lr) must be a positive number") }
        Parallel.setThreads(n)
        let (reader, run) = try CheckpointModel.open(path: checkpoint)
        let isBERT = run.family.arch == "bert"
        let tok = isBERT ? try CheckpointBERT.tokenizerOf(reader: reader, config: run, explicit: tokenizer).0
                         : try CheckpointModel.tokenizer(explicit: tokenizer, reader: reader, config: run)
        let names = try labelNames.map { list -> [String] in
            let names = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard names.count == labels, !names.contains("") else {
                throw CLIError("--label-names '\(list)' gives \(names.count) name(s) for --labels \(labels); give exactly \(labels) non-empty comma-separated names")
            }
            return names
        }
        let train: ClassificationDataset
        var heldOut: ClassificationDataset?
        do {
            train = try ClassificationDataset.load(path: data, numLabels: labels, labelNames: names)
            if let test { heldOut = try ClassificationDataset.load(path: test, numLabels: labels, labelNames: train.labelNames) }
        } catch let error as DataError {
            throw CLIError("\(error)")
        }
        // Names file: exactly N names, padded with ids when the data named fewer than N.
        var finalNames = names ?? train.labelNames  // ids in the data: --label-names names them
        if finalNames.count < labels { finalNames += (finalNames.count..<labels).map { String($0) } }
        if let bad = finalNames.first(where: { $0.contains(",") }) {
            throw CLIError("\(data): label name '\(bad)' contains a comma; rename it (the checkpoint stores the names comma-separated)")
        }
        let minimum = isBERT ? 3 : 1
        let T = seqLen ?? min(run.training.seqLen, run.model.maxSeqLen)
        guard T >= minimum, T <= run.model.maxSeqLen else {
            throw CLIError("--seq-len \(T) must be in \(minimum)…\(run.model.maxSeqLen) (model.max_seq_len of the checkpoint)")
        }
        var settings = AdamWOptimizer.Settings()
        settings.lr = lr
        settings.weightDecay = weightDecay
        settings.beta2 = 0.999
        let job = Job(comm: comm, reader: reader, run: run, tokenizer: tok, settings: settings, T: T, train: train, heldOut: heldOut, names: finalNames)
        if isBERT {
            var config = run.bertConfig
            config.nsp = false
            config.numLabels = labels
            let body = try CheckpointBERT(path: reader.directory, batch: 1, seqLen: 1) { _ in "" }
            try tune(FineTuner<BERT>.self, config: config, body: body.model, job)
        } else {
            var config = run.gptConfig
            config.numLabels = labels
            let body = try CheckpointModel(reader: reader, config: run, batch: 1, seqLen: 1, allowClassifier: true)
            try tune(FineTuner<GPT>.self, config: config, body: body.model, job)
        }
    }

    /// What both families' fine-tuning shares: the opened checkpoint, the data and the settings.
    private struct Job {
        let comm: any Communicator
        let reader: CheckpointReader
        let run: RunConfig
        let tokenizer: Tokenizer
        let settings: AdamWOptimizer.Settings
        let T: Int
        let train: ClassificationDataset
        let heldOut: ClassificationDataset?
        let names: [String]
    }

    /// Builds the classifier, loads the body, trains, saves (rank 0) and evaluates: one family's run.
    private func tune<C: SequenceClassifier>(_: FineTuner<C>.Type, config: C.Config, body: some LanguageModel, _ job: Job) throws {
        let main = job.comm.rank == 0
        func say(_ line: String) { if main { print(line) } }
        let tuner: FineTuner<C>
        do {
            tuner = try FineTuner<C>(config: config, tokenizer: job.tokenizer, microBatch: microBatch, sequenceLength: job.T,
                                     settings: job.settings, seed: seed, freezeBody: freezeBody)
        } catch let error as ModelError {
            throw CLIError(error.message)
        } catch let error as DataError {
            throw CLIError("\(error)")
        }
        let fresh = tuner.loadBody(from: body)
        let loaded = tuner.model.layout.tensors.count - fresh.count
        say("loaded \(loaded) tensors from \(job.reader.directory) (step \(job.reader.manifest.step)); new head: \(fresh.isEmpty ? "none (the checkpoint already has this head)" : fresh.joined(separator: ", "))\(freezeBody ? " (body frozen)" : "")")
        say("training \(steps) steps × \(job.comm.size) rank(s) × \(microBatch) examples of \(job.T) tokens on \(job.train.texts.count) examples, \(labels) labels (\(job.names.joined(separator: ", ")))")
        let start = DispatchTime.now().uptimeNanoseconds
        let losses: [Float]
        do { losses = try tuner.train(job.train, steps: steps, lr: lr, comm: job.comm) } catch let error as ModelError { throw CLIError(error.message) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let window = max(1, min(10, steps / 2))
        let first = losses.prefix(window).reduce(0, +) / Float(window), last = losses.suffix(window).reduce(0, +) / Float(window)
        say(String(format: "loss %.4f (first %d steps) → %.4f (last %d) in %.1f s", first, window, last, window, seconds))
        guard main else { return }
        // The fine-tuned checkpoint (rank 0; every rank holds the same weights): the run's config with the classifier recorded, its tokenizer.
        var saved = job.run
        saved.family.nsp = false
        saved.family.numLabels = labels
        saved.family.labelNames = job.names.joined(separator: ",")
        saved.training.seqLen = job.T
        saved.training.microBatch = microBatch
        saved.training.steps = steps
        saved.training.seed = Int(clamping: seed)
        saved.optimizer.lr = lr
        saved.optimizer.weightDecay = weightDecay
        saved.optimizer.beta2 = job.settings.beta2
        saved.checkpoint.dir = out
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(saved)
        options.tokenizer = tokenizer ?? job.reader.tokenizerPath ?? (FileManager.default.fileExists(atPath: job.run.data.tokenizer) ? job.run.data.tokenizer : nil)
        options.optimizerStep = steps
        let directory: String
        do {
            directory = try LocalCheckpoint.save(root: out, step: steps, layout: tuner.model.layout, params: tuner.model.params, m: nil, v: nil, options: options)
        } catch let error as CheckpointError {
            throw CLIError(error.message)
        }
        print("saved \(directory)")
        if let heldOut = job.heldOut {
            let accuracy: Double
            do { accuracy = try tuner.accuracy(heldOut) } catch let error as ModelError { throw CLIError(error.message) }
            print(String(format: "test accuracy %.4f (%d examples, %d labels)", accuracy, heldOut.texts.count, labels))
        }
    }
}
