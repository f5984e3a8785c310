/// What a training run reports as it goes. The loop emits events and never prints; the CLI (or a
/// test) decides what to show.
public enum TrainingEvent: Sendable {
    /// The run is set up: resolved facts about it.
    case started(RunInfo)
    /// One optimizer step finished (every rank emits its own; rank 0's numbers are the run's).
    case step(StepMetrics)
    /// An evaluation on the validation shards finished.
    case eval(EvalMetrics)
    /// Something the user should know that does not stop the run.
    case warning(String)
    /// The run ended normally.
    case finished(RunSummary)
}

/// Facts about a run once it is set up.
public struct RunInfo: Sendable {
    public var rank: Int
    public var worldSize: Int
    public var threads: Int
    public var parameters: Int
    public var accumulationSteps: Int
    public var tokensPerStep: Int
    public var trainSequences: Int
    public var resolvedConfig: String
    public var backend: String
}

/// One optimizer step's numbers.
public struct StepMetrics: Sendable {
    public var step: Int
    /// Mean training loss over the global batch (identical on every rank).
    public var loss: Float
    public var lr: Float
    /// Global gradient L2 norm before clipping.
    public var gradNorm: Double
    /// Tokens per second of the whole job (global batch tokens ÷ step time).
    public var tokensPerSecond: Double
    /// Model FLOPs utilisation against the measured sgemm peak × ranks (0 when no peak was measured).
    public var mfu: Double
    public var stepSeconds: Double
    public var computeSeconds: Double
    public var commSeconds: Double
    public var exposedCommSeconds: Double
    /// True when the update was skipped because the loss or gradient norm was not finite.
    public var skipped: Bool
}

/// One evaluation's numbers.
public struct EvalMetrics: Sendable {
    public var step: Int
    public var loss: Float
    public var perplexity: Double { Double.exp(Double(loss)) }
}

extension Double {
    static func exp(_ x: Double) -> Double { x > 700 ? .infinity : _exp(x) }
}

#if canImport(Glibc)
import Glibc
private func _exp(_ x: Double) -> Double { Glibc.exp(x) }
#else
import Darwin
private func _exp(_ x: Double) -> Double { Darwin.exp(x) }
#endif

/// How a run ended.
public struct RunSummary: Sendable {
    public var steps: Int
    public var finalLoss: Float
    public var finalValLoss: Float?
    public var seconds: Double
}
