import DataPipeline
import Distributed
import Foundation
import Model

/// The validation loss of a GPT checkpoint, evaluated in rounds of ranks × micro-batch sequences.
///
/// The data is read in order (no shuffling); each rank evaluates its slice of every round and the
/// token-weighted sums are reduced over the ranks, so any rank count gives the same loss over the same
/// rounds. The loss is the mean cross-entropy per target token (nats). Used by `pretrain eval`.
public struct CheckpointEvaluation {
    /// Mean cross-entropy per target token, over every rank.
    public let loss: Double
    /// Target tokens that counted (the ignore index excluded), over every rank.
    public let tokens: Int
    /// Rounds evaluated.
    public let rounds: Int
    /// Ranks that shared the work.
    public let ranks: Int
    /// Sequences per rank per round.
    public let microBatch: Int
    /// Tokens per sequence.
    public let sequenceLength: Int

    /// exp(loss).
    public var perplexity: Double { exp(loss) }

    /// Evaluates `checkpoint` on `data` (default: the run's data.val), collectively over `comm`: every
    /// complete round of the split, or the first `rounds`. `microBatch` defaults to the run's
    /// training.micro_batch. Errors are one line (exit status 2) naming the data and the fix.
    public static func run(_ checkpoint: ModelCheckpoint, data: String? = nil, rounds: Int? = nil, microBatch: Int? = nil,
                           comm: any Communicator) throws -> CheckpointEvaluation {
        let model = try checkpoint.gpt(batch: microBatch)
        let run = checkpoint.config
        let B = model.acts.B, T = model.acts.T
        let location = data ?? run.data.val
        guard !location.isEmpty else {
            throw TrainingError("the checkpoint's run has no data.val; pass --data 'DIR/val_*.bin'", exitCode: 2)
        }
        let loader: DistributedDataLoader
        do {
            loader = try DistributedDataLoader(location: location, split: "val", microBatch: B,
                                               sequenceLength: T, rank: comm.rank, worldSize: comm.size, shuffle: false, seed: 0,
                                               modelVocabularySize: run.model.vocabSize)
        } catch let error as DataError {
            throw TrainingError("\(error)", exitCode: 2)
        }
        let complete = loader.sequencesPerEpoch / (comm.size * B)
        guard complete >= 1 else {
            throw TrainingError("\(location) holds \(loader.sequencesPerEpoch) sequences of \(T + 1) tokens, fewer than \(comm.size) rank(s) × micro-batch \(B); lower --micro-batch or use more data", exitCode: 2)
        }
        let count = min(complete, rounds ?? complete)
        let totals = try evaluate(model, loader: loader, rounds: count, ignoreIndex: run.model.ignoreIndex, comm: comm)
        guard totals.tokens > 0 else { throw TrainingError("\(location): no target tokens to evaluate", exitCode: 2) }
        return CheckpointEvaluation(loss: totals.loss, tokens: Int(totals.tokens), rounds: count, ranks: comm.size,
                                    microBatch: B, sequenceLength: T)
    }

    /// The evaluation loop: `rounds` batches of `loader` through `model`, each batch's mean loss weighted
    /// by its target tokens (those not `ignoreIndex`), summed over the ranks of `comm` (collective).
    /// `model` must hold the loader's micro-batch and sequence length. Returns the mean loss per token
    /// (0 without tokens) and the token count.
    public static func evaluate(_ model: GPT, loader: DistributedDataLoader, rounds: Int, ignoreIndex: Int32,
                                comm: any Communicator) throws -> (loss: Double, tokens: Double) {
        let B = loader.microBatch, T = loader.sequenceLength
        var sum = 0.0, tokens = 0.0
        for _ in 0..<rounds {
            try loader.next()
            let mean = try model.forward(tokens: loader.inputs.baseAddress!, targets: loader.targets.baseAddress!, B: B, T: T)
            var valid = 0
            for target in loader.targets where target != ignoreIndex { valid += 1 }
            if valid > 0 { sum += Double(mean) * Double(valid); tokens += Double(valid) }
        }
        var totals = [sum, tokens]
        if comm.size > 1 { try comm.allreduce(&totals, op: .sum) }
        return (totals[1] > 0 ? totals[0] / totals[1] : 0, totals[1])
    }
}
