import ArgumentParser
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Support
import Training

/// `pretrain eval`: validation loss and perplexity of a checkpoint, on one process or under mpirun.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Validation loss and perplexity of a checkpoint (run under mpirun to split the work).",
        discussion: """
        Examples:
          pretrain eval --checkpoint runs/tiny/checkpoints
          mpirun -n 2 pretrain eval --checkpoint runs/tiny/checkpoints --data 'data/fortunes/val_*.bin'
        Reads the data in rounds of ranks × micro-batch sequences (in order, no shuffling); each rank
        evaluates its slice of every round and the token-weighted sums are reduced, so any rank count
        gives the same loss over the same rounds. By default every complete round of the split is
        evaluated; --batches N stops after N rounds. The loss is the mean cross-entropy per target token
        (nats); perplexity = exp(loss).
        """)

    @Option(help: "A step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "Token shards to evaluate on (default: the run's data.val).") var data: String?
    @Option(help: "Rounds to evaluate (default: all complete rounds of the split).") var batches: Int?
    @Option(help: "Sequences per rank per round (default: the run's training.micro_batch).") var microBatch: Int?
    @Option(help: "Compute threads per rank (default: cores ÷ ranks on the host).") var threads: Int?

    func run() throws { try runUnderMPI(evaluate) }

    func evaluate(comm: any Communicator) throws {
        if let batches, batches < 1 { throw CLIError("--batches \(batches) must be at least 1") }
        if let microBatch, microBatch < 1 { throw CLIError("--micro-batch \(microBatch) must be at least 1") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let n = threads ?? max(1, cores / max(1, comm.localSize))
        guard n >= 1 else { throw CLIError("--threads \(n) must be at least 1") }
        Parallel.setThreads(n)
        let loaded = try ModelCheckpoint.open(checkpoint)
        let model = try loaded.gpt(batch: microBatch)
        let run = loaded.config
        let B = model.acts.B, T = model.acts.T
        let location = data ?? run.data.val
        guard !location.isEmpty else {
            throw CLIError("the checkpoint's run has no data.val; pass --data 'DIR/val_*.bin'")
        }
        let loader: DistributedDataLoader
        do {
            loader = try DistributedDataLoader(location: location, split: "val", microBatch: B,
                                               sequenceLength: T, rank: comm.rank, worldSize: comm.size, shuffle: false, seed: 0,
                                               modelVocabularySize: run.model.vocabSize)
        } catch let error as DataError {
            throw CLIError("\(error)")
        }
        let rounds = loader.sequencesPerEpoch / (comm.size * B)
        guard rounds >= 1 else {
            throw CLIError("\(location) holds \(loader.sequencesPerEpoch) sequences of \(T + 1) tokens, fewer than \(comm.size) rank(s) × micro-batch \(B); lower --micro-batch or use more data")
        }
        let count = min(rounds, batches ?? rounds)
        var sum = 0.0, tokens = 0.0
        for _ in 0..<count {
            try loader.next()
            let mean = try model.forward(tokens: loader.inputs.baseAddress!, targets: loader.targets.baseAddress!, B: B, T: T)
            let valid = loader.targets.reduce(0) { $0 + ($1 == run.model.ignoreIndex ? 0 : 1) }
            if valid > 0 { sum += Double(mean) * Double(valid); tokens += Double(valid) }
        }
        var totals = [sum, tokens]
        if comm.size > 1 { try comm.allreduce(&totals, op: .sum) }
        guard totals[1] > 0 else { throw CLIError("\(location): no target tokens to evaluate") }
        let loss = totals[0] / totals[1]
        if comm.rank == 0 {
            print(String(format: "val loss %.6f | perplexity %.4f | %d tokens in %d round(s) × %d rank(s) × %d sequences of %d | checkpoint step %d (%@)",
                         loss, exp(loss), Int(totals[1]), count, comm.size, B, T, loaded.reader.manifest.step, loaded.reader.directory))
        }
    }
}
