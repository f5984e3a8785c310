import Model

/// What `FineTuneRun` drives, saves and resumes, whatever the task: a classifier (`FineTuner`) or a
/// sequence-to-sequence model (`Seq2SeqTuner`).
protocol FineTuning: AnyObject {
    associatedtype Trained: LanguageModel
    /// The model being trained.
    var trained: Trained { get }
    /// The optimizer (moments and step count).
    var adam: Optimizer { get }
    /// Steps trained so far.
    var stepsDone: Int { get }
    /// Continues after `step` steps (parameters and moments already loaded).
    func resume(step: Int)
}

extension FineTuner: FineTuning {
    var trained: Classifier { model }
}

extension Seq2SeqTuner: FineTuning {
    var trained: T5 { model }
}
