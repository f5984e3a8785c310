import Checkpoint
import DataPipeline
import Distributed
import Foundation
import Model
import Plot

/// What `FineTuneRun` does after each step: the step's metrics record, the periodic report and
/// evaluation, the periodic checkpoint, and the stop on a signal (saved first).
///
/// Every rank calls `stepped` after every step: the ranks agree there on whether any of them got
/// SIGINT/SIGTERM/SIGUSR1 (`PreemptionFlag`), so they stop after the same step. Rank 0 alone
/// evaluates, writes the metrics file and saves.
final class FineTuneWatch {
    let run: FineTuneRun
    private let metrics: MetricsFileWriter?
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastStepEnd = DispatchTime.now().uptimeNanoseconds
    private var lossSum: Float = 0, lossCount = 0
    /// The newest checkpoint written (rank 0), and the step it holds.
    private(set) var lastSaved: String?, lastSavedStep = -1
    /// The signal that stopped the run (its checkpoint saved), or 0.
    private(set) var signal: Int32 = 0
    /// The latest evaluation on the test set and the step it was made after.
    private var evaluated: (step: Int, result: (accuracy: Double, loss: Double))?
    private var stepsDone = 0

    /// Rank 0's evaluation on the test set: (accuracy, loss); nil without a test set.
    private let test: (() throws -> (accuracy: Double, loss: Double))?
    /// Tokens one step trains on over every rank (for tokens/s).
    private let tokensPerStep: Int

    /// A watch over `run`; rank 0 opens `<out>/metrics/rank-00000.jsonl` (appending when `resumed`).
    /// `test` evaluates the model on the test set (rank 0); `tokensPerStep` is for the tokens/s column.
    init(run: FineTuneRun, resumed: Bool, tokensPerStep: Int, test: (() throws -> (accuracy: Double, loss: Double))?) throws {
        self.run = run
        self.test = test
        self.tokensPerStep = tokensPerStep
        metrics = run.comm.rank == 0 ? try MetricsFileWriter(directory: run.settings.out + "/metrics", rank: 0, appending: resumed) : nil
    }

    /// The evaluation of the last step trained, when it was made (so the end does not repeat it).
    var evaluation: (accuracy: Double, loss: Double)? {
        evaluated.flatMap { $0.step == stepsDone ? $0.result : nil }
    }

    /// Records `step`, reports/evaluates/saves when due; false when the run must stop (a signal: the
    /// checkpoint of this step is saved).
    func stepped(_ step: FineTuneStep, tuner: some FineTuning) throws -> Bool {
        let s = run.settings, comm = run.comm
        stepsDone = step.step
        let now = DispatchTime.now().uptimeNanoseconds
        let seconds = Double(now - lastStepEnd) / 1e9
        lastStepEnd = now
        lossSum += step.loss
        lossCount += 1
        if let metrics {
            var record = MetricsRecord(kind: .step)
            (record.rank, record.step, record.loss, record.lr, record.gradNorm) = (0, step.step, Double(step.loss), Double(s.lr), step.gradNorm)
            (record.stepMs, record.tokensPerSecond, record.elapsedS) = (seconds * 1000, Double(tokensPerStep) / seconds, elapsed)
            metrics.write(record, csv: true)
        }
        if s.evalEvery > 0, step.step % s.evalEvery == 0 { try report(step.step) }
        var flag = [PreemptionFlag.urgency]
        if comm.size > 1 { try flag.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .max) } }
        if flag[0] != 0 {
            signal = PreemptionFlag.agreed(urgency: flag[0])
            if lastSavedStep != step.step { try save(tuner, signal: signal) }
            return false
        }
        if s.saveEvery > 0, step.step % s.saveEvery == 0, step.step < s.steps { try save(tuner, signal: 0) }
        return true
    }

    /// Seconds since the watch started.
    private var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Rank 0: the mean loss since the last report and, with a test set, its accuracy and loss
    /// (reported and written as an eval record).
    private func report(_ step: Int) throws {
        defer { lossSum = 0; lossCount = 0 }
        guard run.comm.rank == 0 else { return }
        var result: (accuracy: Double, loss: Double)?
        if test != nil {
            let evaluation = try evaluate()
            result = evaluation
            var record = MetricsRecord(kind: .eval)
            (record.rank, record.step, record.valLoss, record.valPerplexity) = (0, step, evaluation.loss, Foundation.exp(evaluation.loss))
            (record.valAccuracy, record.elapsedS) = (evaluation.accuracy, elapsed)
            if run.settings.task == .classify, let heldOut = run.heldOut { record.valBaselineAccuracy = heldOut.share(of: run.train.majorityLabel) }
            metrics?.write(record, csv: true)
        }
        let loss = lossSum / Float(max(1, lossCount))
        run.events(run.settings.task == .classify ? .progress(step: step, steps: run.settings.steps, loss: loss, test: result)
                                                   : .seq2seqProgress(step: step, steps: run.settings.steps, loss: loss, test: result))
    }

    /// Evaluates the model on the test set after the current step (remembered for `evaluation`).
    func evaluate() throws -> (accuracy: Double, loss: Double) {
        guard let test else { preconditionFailure("no test set to evaluate") }
        let result: (accuracy: Double, loss: Double)
        do { result = try test() } catch let error as ModelError { throw TrainingError(error.message, exitCode: 2) }
        evaluated = (stepsDone, result)
        return result
    }

    /// Saves `tuner`'s state (rank 0) and reports it.
    func save(_ tuner: some FineTuning, signal: Int32) throws {
        lastSavedStep = tuner.stepsDone
        guard run.comm.rank == 0 else { return }
        let directory = try run.save(tuner)
        lastSaved = directory
        var record = MetricsRecord(kind: .checkpoint)
        (record.checkpoint, record.step, record.path) = (signal != 0 ? "preempted" : "saved", tuner.stepsDone, directory)
        metrics?.write(record)
        run.events(.saved(directory: directory, step: tuner.stepsDone, signal: signal))
    }
}
