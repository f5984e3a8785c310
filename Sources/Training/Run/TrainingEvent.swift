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
    /// A checkpoint was saved or resumed from, or the run was preempted.
    case checkpoint(CheckpointReport)
    /// The run ended normally.
    case finished(RunSummary)
}
