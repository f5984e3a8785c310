import ArgumentParser
import Checkpoint
import Config
import Data
import Distributed
import Foundation
import Kernels
import Model
import Training

/// `pretrain finetune`: a pretrained BERT body with a fresh classifier head, trained on labelled texts.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a pretrained BERT checkpoint as a text classifier (a new head on [CLS]).",
        discussion: """
        Example:
          pretrain finetune --checkpoint runs/bert/checkpoints --task classify --data data/task/train.jsonl \\
              --test data/task/test.jsonl --labels 4 --steps 300 --out runs/bert-classify
        --data holds JSON lines {"text": "…", "label": …}, labels all names or all ids 0…N−1. The encoder
        (embeddings and blocks) is loaded from the checkpoint; the pooler and a (N, d_model) classifier
        are freshly initialised and replace the masked-LM head. --freeze-body trains only the new head.
        The result is a checkpoint in --out (model.num_labels and model.label_names in its config) for
        `pretrain predict --task classify`. Under mpirun it is data-parallel: each rank takes its own
        micro-batch of every step (global batch = ranks × --micro-batch) and the gradients are averaged;
        rank 0 prints, saves and evaluates. A GPT checkpoint cannot be fine-tuned yet (there is no GPT
        classifier head).
        """)

    @Option(help: "A BERT step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
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
    @Option(help: "T: tokens per example with [CLS] and [SEP] (default: the checkpoint's training.seq_len).") var seqLen: Int?
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
        let main = comm.rank == 0
        func say(_ line: String) { if main { print(line) } }
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
        let body = try CheckpointBERT(path: checkpoint, batch: 1, seqLen: 1) { dir in
            "\(dir) is a GPT checkpoint (model.arch gpt): fine-tuning a GPT body is not supported yet (there is no GPT classifier head); fine-tune a BERT checkpoint (pretrain train --set model.arch=bert)"
        }
        let (tok, _) = try body.tokenizer(explicit: tokenizer)
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
        let run = body.config
        let T = seqLen ?? min(run.training.seqLen, run.model.maxSeqLen)
        guard T >= 3, T <= run.model.maxSeqLen else {
            throw CLIError("--seq-len \(T) must be in 3…\(run.model.maxSeqLen) (model.max_seq_len of the checkpoint)")
        }
        var config = run.bertConfig
        config.nsp = false
        config.numLabels = labels
        var settings = AdamWOptimizer.Settings()
        settings.lr = lr
        settings.weightDecay = weightDecay
        settings.beta2 = 0.999
        let tuner: FineTuner
        do {
            tuner = try FineTuner(config: config, tokenizer: tok, microBatch: microBatch, sequenceLength: T, settings: settings, seed: seed, freezeBody: freezeBody)
        } catch let error as ModelError {
            throw CLIError(error.message)
        } catch let error as DataError {
            throw CLIError("\(error)")
        }
        let fresh = tuner.loadBody(from: body.model)
        let loaded = tuner.model.layout.tensors.count - fresh.count
        say("loaded \(loaded) tensors from \(body.reader.directory) (step \(body.reader.manifest.step)); new head: \(fresh.joined(separator: ", "))\(freezeBody ? " (body frozen)" : "")")
        say("training \(steps) steps × \(comm.size) rank(s) × \(microBatch) examples of \(T) tokens on \(train.texts.count) examples, \(labels) labels (\(finalNames.joined(separator: ", ")))")
        let start = DispatchTime.now().uptimeNanoseconds
        let losses: [Float]
        do { losses = try tuner.train(train, steps: steps, lr: lr, comm: comm) } catch let error as ModelError { throw CLIError(error.message) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let window = max(1, min(10, steps / 2))
        let first = losses.prefix(window).reduce(0, +) / Float(window), last = losses.suffix(window).reduce(0, +) / Float(window)
        say(String(format: "loss %.4f (first %d steps) → %.4f (last %d) in %.1f s", first, window, last, window, seconds))
        guard main else { return }
        // The fine-tuned checkpoint (rank 0; every rank holds the same weights): the run's config with the classifier recorded, its tokenizer.
        var saved = run
        saved.family.nsp = false
        saved.family.numLabels = labels
        saved.family.labelNames = finalNames.joined(separator: ",")
        saved.training.seqLen = T
        saved.training.microBatch = microBatch
        saved.training.steps = steps
        saved.training.seed = Int(clamping: seed)
        saved.optimizer.lr = lr
        saved.optimizer.weightDecay = weightDecay
        saved.optimizer.beta2 = settings.beta2
        saved.checkpoint.dir = out
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(saved)
        options.tokenizer = tokenizer ?? body.reader.tokenizerPath ?? (FileManager.default.fileExists(atPath: run.data.tokenizer) ? run.data.tokenizer : nil)
        options.optimizerStep = steps
        let directory: String
        do {
            directory = try LocalCheckpoint.save(root: out, step: steps, layout: tuner.model.layout, params: tuner.model.params, m: nil, v: nil, options: options)
        } catch let error as CheckpointError {
            throw CLIError(error.message)
        }
        print("saved \(directory)")
        if let heldOut {
            let accuracy: Double
            do { accuracy = try tuner.accuracy(heldOut) } catch let error as ModelError { throw CLIError(error.message) }
            print(String(format: "test accuracy %.4f (%d examples, %d labels)", accuracy, heldOut.texts.count, labels))
        }
    }
}
