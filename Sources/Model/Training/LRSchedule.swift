import Foundation

/// A learning-rate schedule: the rate to use at a (1-based) optimizer step.
public enum LRSchedule: Equatable, Sendable {
    /// The peak rate at every step.
    case constant(lr: Float)
    /// Linear warmup from lr/warmup to lr over `warmup` steps, then cosine decay to `minLR` at `total`
    /// steps, and `minLR` after that (nanoGPT's schedule).
    case warmupCosine(lr: Float, warmup: Int, total: Int, minLR: Float)
    /// "Attention Is All You Need": scale · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5).
    case noam(dModel: Int, warmup: Int, scale: Float)

    /// The learning rate at optimizer step `step` (1-based).
    public func rate(at step: Int) -> Float {
        let s = max(step, 1)
        switch self {
        case let .constant(lr):
            return lr
        case let .warmupCosine(lr, warmup, total, minLR):
            if s <= warmup { return lr * Float(s) / Float(max(warmup, 1)) }
            if s >= total { return minLR }
            let progress = Double(s - warmup) / Double(max(total - warmup, 1))
            let coefficient = 0.5 * (1 + cos(Double.pi * progress))
            return minLR + Float(coefficient) * (lr - minLR)
        case let .noam(dModel, warmup, scale):
            let a = pow(Double(s), -0.5)
            let b = Double(s) * pow(Double(max(warmup, 1)), -1.5)
            return scale * Float(pow(Double(dModel), -0.5) * min(a, b))
        }
    }
}
