/// One optimizer step's numbers.
public struct StepMetrics: Sendable {
    /// Optimizer steps completed, this one included (the first step is 1).
    public var step: Int
    /// Mean training loss over the global batch (identical on every rank).
    public var loss: Float
    /// Learning rate of this step's update.
    public var lr: Float
    /// Global gradient L2 norm before clipping.
    public var gradNorm: Double
    /// Tokens per second of the whole job (global batch tokens ÷ step time).
    public var tokensPerSecond: Double
    /// Model FLOPs utilisation against the measured matmul peak (sgemm, or bf16 with mixed precision) × ranks (0 when no peak was measured).
    public var mfu: Double
    /// Wall time of the whole step.
    public var stepSeconds: Double
    /// The part of the step not spent waiting for communication (`stepSeconds - exposedCommSeconds`).
    public var computeSeconds: Double
    /// Transport busy time of all of the step's collectives (overlapped or not).
    public var commSeconds: Double
    /// Time the step waited for communication: what overlap did not hide.
    public var exposedCommSeconds: Double
    /// True when the update was skipped because the loss or gradient norm was not finite.
    public var skipped: Bool
    /// Transport busy time of the gradient synchronisation alone (0 on one rank).
    public var gradientSyncSeconds: Double = 0
    /// Gradient bytes this rank handed to the transport (0 on one rank).
    public var gradientSyncBytes = 0
}
