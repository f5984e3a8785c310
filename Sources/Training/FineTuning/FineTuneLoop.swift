import Distributed
import Model
import Support

/// The pieces every fine-tuning loop (`FineTuner`, `Seq2SeqTuner`) shares: the seeded example order of
/// each epoch and the sum of gradients and loss over the ranks.
enum FineTuneLoop {
    /// A seeded permutation of the examples per epoch, made when the epoch starts.
    struct Order {
        let seed: UInt64, count: Int
        private var order: [Int] = [], epoch = -1

        init(seed: UInt64, count: Int) { (self.seed, self.count) = (seed, count) }

        /// The permutation of `epoch`.
        mutating func of(epoch: Int) -> [Int] {
            if self.epoch != epoch || order.count != count {
                var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
                order = Array(0..<count).shuffled(using: &rng)
                self.epoch = epoch
            }
            return order
        }
    }

    /// Sums `grads` and `loss` over the ranks of `comm` in place (collective); returns the summed loss.
    static func sum(_ grads: FlatBuffer, loss: Float, comm: any Communicator, step: Int) throws -> Float {
        var reduced = [loss]
        do {
            try comm.allreduce(grads.buffer, op: .sum)
            try comm.allreduce(&reduced, op: .sum)
        } catch {
            throw ModelError("fine-tuning step \(step + 1): the gradient allreduce failed (\(error)); check that every rank runs the same command")
        }
        return reduced[0]
    }

    /// The optimizer step on `model`'s summed gradients (clipped by the settings), then `onStep`:
    /// returns the step for the caller's record and whether to go on.
    static func update(_ model: some LanguageModel, _ adam: Optimizer, lr: Float, step: Int, loss: Float,
                       onStep: ((FineTuneStep) throws -> Bool)?) throws -> Bool {
        let norm = Optimizer.gradNorm(model.grads)
        adam.step(params: model.params, grads: model.grads, lr: lr, gradScale: adam.clipScale(gradNorm: norm), bf16: model.bf16)
        return try onStep?(FineTuneStep(step: step + 1, loss: loss, gradNorm: norm)) ?? true
    }
}
