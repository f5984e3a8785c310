import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Support

/// Fine-tunes a T5 on (source, target) token rows with the loss on target tokens only, AdamW, and
/// data parallelism over a communicator: Hugging Face's `Seq2SeqTrainer` with `T5ForConditionalGeneration`.
///
/// A step reads one global batch of B × A × R pairs (micro-batch B, A micro-batches per rank, R ranks)
/// from a seeded permutation per epoch; micro-batch k of the step (k = 0…A·R − 1) goes to rank k / A,
/// is padded to its own longest rows (`Seq2SeqBatch`) and draws its dropout from (seed, step, k). The
/// loss is the mean cross-entropy over every target token of the global batch, as one forward over it
/// would give: micro-batch k's backward is scaled by its share of the batch's target tokens. Each rank
/// sums its micro-batches' gradients in order in a separate buffer, then the ranks sum theirs, so that
/// 2 ranks × 1 micro-batch and 1 rank × 2 micro-batches add the same two gradients and agree bitwise.
public final class Seq2SeqTuner {
    /// The model being trained (dropout per its config).
    public let model: T5
    /// B pairs per micro-batch, A micro-batches per rank per step.
    public let microBatch: Int, accumulation: Int
    /// The current micro-batch.
    public var batch: Seq2SeqBatch { scorer.batch }
    /// Forward, evaluation and generation on the model's batches.
    public let scorer: Seq2SeqScorer
    private let optimizer: Optimizer?   // nil: evaluation only
    private let seed: UInt64
    private let sum: FlatBuffer?       // the rank's gradient sum over its micro-batches (A > 1)

    /// A tuner of `model` (built for batches of at least `microBatch` rows and the run's source and
    /// target limits) over AdamW with `settings` (nil: evaluation and generation only, no moments
    /// allocated); `seed` fixes the pair order and dropout.
    public init(model: T5, microBatch: Int, accumulation: Int = 1, settings: Optimizer.Settings?, seed: UInt64) throws {
        precondition(microBatch >= 1 && microBatch <= model.acts.B && accumulation >= 1, "micro-batch \(microBatch) × \(accumulation) for a model of \(model.acts.B)")
        self.model = model
        self.microBatch = microBatch
        self.accumulation = accumulation
        self.seed = seed
        scorer = Seq2SeqScorer(t5: model, microBatch: microBatch)
        optimizer = try settings.map { try Optimizer(layout: model.layout, settings: $0) }
        sum = accumulation > 1 ? try FlatBuffer(count: model.layout.count) : nil
    }

    /// Steps trained so far (a resumed run goes on counting; see `resume(step:)`).
    public private(set) var stepsDone = 0

    /// The optimizer (its moments and step count, for checkpoints).
    public var adam: Optimizer {
        guard let optimizer else { preconditionFailure("an evaluation-only tuner has no optimizer") }
        return optimizer
    }

    /// Runs the linear layers with bf16 operands from now on (weights, gradients and AdamW stay fp32).
    public func useBF16(_ bf16: BF16Matmul) throws { try model.useBF16(bf16) }

    /// Continues after `step` steps: the parameters and moments must already hold that step's values.
    public func resume(step: Int) {
        precondition(step >= 0, "a negative step")
        stepsDone = step
        adam.setStep(step)
    }

    /// Forward on pairs `indices` of `data` with the targets; returns the mean loss over their targets.
    @discardableResult
    func forward(_ data: Seq2SeqExamples, _ indices: some Collection<Int>) throws -> Float { try scorer.forward(data, indices) }

    /// This rank's part of one step on the global batch `rows` (B × A × R pair indices): zeroes the
    /// gradients, runs its micro-batches and leaves its sum of their scaled gradients in `model.grads`;
    /// returns its share of the batch's mean loss. `dropoutSeed(k)` seeds micro-batch k.
    func accumulate(_ data: Seq2SeqExamples, rows: ArraySlice<Int>, rank: Int, dropoutSeed: (Int) -> UInt64) throws -> Float {
        let tokens = rows.reduce(0) { $0 + data.targets[$1].count }
        var loss: Float = 0
        for m in 0..<accumulation {
            let k = rank * accumulation + m, first = rows.startIndex + k * microBatch
            model.dropoutSeed = dropoutSeed(k)
            let mean = try forward(data, rows[first..<(first + microBatch)])
            let share = Float(batch.targetTokens) / Float(tokens)
            model.zeroGrad()
            model.backward(lossScale: share, onReady: nil)
            loss += mean * share
            if let sum, m == 0 { sum.pointer.update(from: model.grads.pointer, count: sum.count) }
            if let sum, m > 0 { VectorMath.add(sum.pointer, model.grads.pointer, count: sum.count) }
        }
        if let sum { model.grads.pointer.update(from: sum.pointer, count: sum.count) }
        return loss
    }

    /// Trains `steps` more steps at learning rate `lr`; returns each step's loss (the mean over the
    /// global batch's target tokens). Every rank of `comm` calls it with the same data and steps;
    /// `onStep` sees each finished step and returns false to stop after it (the same on every rank).
    public func train(_ data: Seq2SeqExamples, steps: Int, lr: Float, comm: (any Communicator)? = nil,
                      onStep: ((FineTuneStep) throws -> Bool)? = nil) throws -> [Float] {
        let ranks = comm?.size ?? 1, rank = comm?.rank ?? 0
        let global = microBatch * accumulation * ranks
        guard data.count >= global else {
            throw ModelError("the training set has \(data.count) pairs, fewer than one global batch of \(global) (micro-batch \(microBatch) × \(accumulation) × \(ranks) rank(s)); lower the micro-batch")
        }
        let perEpoch = data.count / global
        var losses: [Float] = []
        var order = FineTuneLoop.Order(seed: seed, count: data.count)
        model.training = true
        model.bf16?.refreshWeights()   // the weights may have been loaded since it was attached
        for step in stepsDone..<(stepsDone + steps) {
            let first = (step % perEpoch) * global
            var loss = try accumulate(data, rows: order.of(epoch: step / perEpoch)[first..<(first + global)], rank: rank) {
                self.seed &+ UInt64(step) &* 1_000_003 &+ UInt64($0) &* 0x5851_F42D_4C95_7F2D
            }
            if let comm, ranks > 1 { loss = try FineTuneLoop.sum(model.grads, loss: loss, comm: comm, step: step) }
            losses.append(loss)
            stepsDone = step + 1
            guard try FineTuneLoop.update(model, adam, lr: lr, step: step, loss: loss, onStep: onStep) else { break }
        }
        return losses
    }

    /// The scorer's teacher-forced loss and token-accuracy sums over pairs `range` of `data` (default: all).
    public func evaluate(_ data: Seq2SeqExamples, range: Range<Int>? = nil) throws -> (lossSum: Double, correct: Double, tokens: Double) {
        try scorer.evaluate(data, range: range)
    }

    /// The scorer's greedy outputs (`T5Inference`) for pairs `range`, up to `maxNewTokens` each; the ids before EOS.
    public func generate(_ data: Seq2SeqExamples, range: Range<Int>, maxNewTokens: Int) throws -> [[Int32]] {
        try scorer.generate(data, range: range, maxNewTokens: maxNewTokens)
    }
}
