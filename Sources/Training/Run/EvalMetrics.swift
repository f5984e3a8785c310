import Foundation

/// One evaluation's numbers.
public struct EvalMetrics: Sendable {
    /// The optimizer step after which the evaluation ran.
    public var step: Int
    /// Mean validation loss, averaged over ranks.
    public var loss: Float
    /// What was evaluated ("first 10 × 16 sequences of data.val; …"), for the eval line.
    public var scope = ""
    /// exp(loss), ∞ where that overflows.
    public var perplexity: Double { loss > 700 ? .infinity : Foundation.exp(Double(loss)) }
}
