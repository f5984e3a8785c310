/// One finished fine-tuning step, as `FineTuner.train` and `Seq2SeqTuner.train` report it to `onStep`.
public struct FineTuneStep {
    /// The step's number, 1-based over the whole run (a resumed run goes on counting).
    public let step: Int
    /// The loss (the mean over ranks) and the gradient norm before clipping.
    public let loss: Float, gradNorm: Double
}
