import Checkpoint
import Config
import Foundation
import Model

extension FineTuneRun {
    /// With `resume`, loads the newest complete checkpoint of `out` into `tuner` (parameters, AdamW
    /// moments and step) after checking that it was written by the same fine-tuning settings; returns
    /// it, or nil for a fresh start (no `resume`, or nothing saved yet). Every rank reads it.
    func resumeIfAsked(_ tuner: some FineTuning) throws -> (path: String, step: Int)? {
        let s = settings
        guard s.resume, let newest = CheckpointStore(root: s.out).complete().last else { return nil }
        func bad(_ message: String) -> TrainingError { TrainingError("--resume: \(newest.path) \(message)", exitCode: 2) }
        let saved: ModelCheckpoint
        do { saved = try ModelCheckpoint.open(newest.path) } catch let error as TrainingError { throw bad("does not open (\(error.message))") }
        let c = saved.config
        let recorded: [(flag: String, saved: String, now: String)] = [
            ("--labels", "\(c.family.numLabels)", "\(s.labels)"),
            ("--label-names", c.family.labelNames, names.joined(separator: ",")),
            ("--micro-batch", "\(c.training.microBatch)", "\(s.microBatch)"),
            ("ranks", "\(c.training.globalBatch / max(1, c.training.microBatch * c.training.gradientAccumulationSteps))", "\(comm.size)"),
            ("--gradient-accumulation-steps", "\(c.training.gradientAccumulationSteps)", "\(s.accumulation)"),
            ("--seq-len", "\(c.training.seqLen)", "\(T)"),
            ("--target-len", "\(c.training.targetLen)", "\(targetLength)"),
            ("--prefix", "'\(c.data.sourcePrefix)'", "'\(s.task == .seq2seq ? s.prefix : checkpoint.config.data.sourcePrefix)'"),
            ("--seed", "\(c.training.seed)", "\(Int(clamping: s.seed))"),
            ("--lr", "\(c.optimizer.lr)", "\(s.lr)"),
            ("--weight-decay", "\(c.optimizer.weightDecay)", "\(s.weightDecay)"),
        ]
        if let differs = recorded.first(where: { $0.saved != $0.now }) {
            throw bad("was fine-tuned with \(differs.flag) \(differs.saved), not \(differs.now); give the flags of that run (or a new --out to start afresh)")
        }
        guard saved.reader.manifest.hasOptimizerState else {
            throw bad("has no AdamW moments to continue from; give a new --out to start afresh")
        }
        guard newest.step < s.steps else {
            throw bad("already holds step \(newest.step) of --steps \(s.steps): that run is finished; raise --steps to train it further")
        }
        let adam = tuner.adam
        do {
            try saved.reader.manifest.checkMatches(tuner.trained.layout, directory: newest.path)
            try saved.reader.read([
                .init(buffer: .params, range: 0..<tuner.trained.layout.count, destination: tuner.trained.params.pointer),
                .init(buffer: .m, range: adam.shard, destination: adam.m.pointer),
                .init(buffer: .v, range: adam.shard, destination: adam.v.pointer),
            ])
        } catch let error as CheckpointError {
            throw bad("cannot be read (\(error.message))")
        }
        tuner.resume(step: newest.step)
        adam.setStep(saved.reader.manifest.optimizerStep)
        return (newest.path, newest.step)
    }
}
