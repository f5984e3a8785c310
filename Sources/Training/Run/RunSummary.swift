/// How a run ended.
public struct RunSummary: Sendable {
    /// Optimizer steps completed.
    public var steps: Int
    /// Training loss of the last step.
    public var finalLoss: Float
    /// Validation loss of the last evaluation, if any ran.
    public var finalValLoss: Float?
    /// Wall time of `run()`.
    public var seconds: Double
    /// Whether a signal stopped the run early (after saving a checkpoint).
    public var preempted = false
    /// That signal as the ranks agreed on it (`PreemptionFlag.agreed`), or 0.
    public var signal: Int32 = 0
}
