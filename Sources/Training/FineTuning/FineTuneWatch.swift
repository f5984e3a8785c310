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

    /// A watch over `run`; rank 0 opens `<out>/metrics/rank-00000.jsonl` (appending when `resumed`).
    init(run: FineTuneRun, resumed: Bool) throws {
        self.run = run
        metrics = run.comm.rank == 0 ? try MetricsFileWriter(directory: run.settings.out + "/metrics", rank: 0, appending: resumed) : nil
    }

    /// The evaluation of the last step trained, when it was made (so the end does not repeat it).
    var evaluation: (accuracy: Double, loss: Double)? {
        evaluated.flatMap { $0.step == stepsDone ? $0.result : nil }
    }

    /// Records `step`, reports/evaluates/saves when due; false when the run must stop (a signal: the
    /// checkpoint of this step is saved).
    func stepped<C: SequenceClassifier>(_ step: FineTuner<C>.Step, tuner: FineTuner<C>) throws -> Bool {
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
            (record.stepMs, record.tokensPerSecond, record.elapsedS) = (seconds * 1000, Double(s.microBatch * comm.size * run.T) / seconds, elapsed)
            metrics.write(record, csv: true)
        }
        if s.evalEvery > 0, step.step % s.evalEvery == 0 { try report(step.step, tuner: tuner) }
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
    private func report<C: SequenceClassifier>(_ step: Int, tuner: FineTuner<C>) throws {
        defer { lossSum = 0; lossCount = 0 }
        guard run.comm.rank == 0 else { return }
        var test: (accuracy: Double, loss: Double)?
        if let heldOut = run.heldOut {
            let result = try evaluate(tuner, heldOut)
            test = result
            var record = MetricsRecord(kind: .eval)
            (record.rank, record.step, record.valLoss, record.valPerplexity) = (0, step, result.loss, Foundation.exp(result.loss))
            (record.valAccuracy, record.elapsedS) = (result.accuracy, elapsed)
            record.valBaselineAccuracy = heldOut.share(of: run.train.majorityLabel)
            metrics?.write(record, csv: true)
        }
        run.events(.progress(step: step, steps: run.settings.steps, loss: lossSum / Float(max(1, lossCount)), test: test))
    }

    /// Evaluates `tuner` on `data` after the current step (remembered for `evaluation`).
    func evaluate<C: SequenceClassifier>(_ tuner: FineTuner<C>, _ data: ClassificationDataset) throws -> (accuracy: Double, loss: Double) {
        let result: (accuracy: Double, loss: Double)
        do { result = try tuner.evaluate(data) } catch let error as ModelError { throw TrainingError(error.message, exitCode: 2) }
        evaluated = (tuner.stepsDone, result)
        return result
    }

    /// Saves `tuner`'s state (rank 0) and reports it.
    func save<C: SequenceClassifier>(_ tuner: FineTuner<C>, signal: Int32) throws {
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
