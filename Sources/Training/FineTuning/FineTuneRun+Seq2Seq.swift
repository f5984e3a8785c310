import DataPipeline
import Model

extension FineTuneRun {
    /// `--task seq2seq`: a T5 checkpoint fine-tuned on (source, target) pairs with the loss on the
    /// target tokens (`Seq2SeqTuner`), with the same reports, metrics file, checkpoints and resume as a
    /// classifier. --seq-len is the source limit (default: the checkpoint's training.seq_len),
    /// --target-len the target's (default: its training.target_len, else the source limit).
    func runSeq2Seq() throws -> Result {
        let s = settings
        func bad(_ message: String) -> TrainingError { TrainingError(message, exitCode: 2) }
        try checkpoint.require(.t5, needs: "--task seq2seq needs", hint: "give a T5 checkpoint (`pretrain checkpoint import DIR` reads a Hugging Face t5 one), or fine-tune a classifier with --task classify")
        guard !s.freezeBody else { throw bad("--freeze-body applies to --task classify (a new head on a frozen body); --task seq2seq trains the whole T5") }
        let run = checkpoint.config
        var job = self
        job.T = s.seqLen ?? run.training.seqLen
        job.targetLength = s.targetLen ?? (run.training.targetLen > 0 ? run.training.targetLen : job.T)
        guard job.T >= 1 else { throw bad("--seq-len \(job.T) must be at least 1 (the source's EOS)") }
        guard job.targetLength >= 2 else { throw bad("--target-len \(job.targetLength) must be at least 2 (a target token and EOS)") }
        let model = try checkpoint.t5(batch: s.microBatch, source: job.T, target: job.targetLength, needs: "--task seq2seq needs")
        let tokenizer = try checkpoint.byteLevelTokenizer(explicit: s.tokenizer)
        func examples(_ path: String) throws -> Seq2SeqExamples {
            do {
                let pairs = try Seq2SeqPairs.load(path: path, sourceField: s.sourceField, targetField: s.targetField)
                return try Seq2SeqExamples(pairs, tokenizer: tokenizer, prefix: s.prefix, eos: model.config.eosTokenId, sourceLength: job.T,
                                           targetLength: job.targetLength, overflow: s.overflow)
            } catch let error as DataError {
                throw bad("\(error)")
            }
        }
        job.pairs = try examples(s.data)
        job.testPairs = try s.test.map(examples)
        return try job.tuneSeq2Seq(model)
    }

    /// Trains `model` on `pairs` while reporting, evaluating on `testPairs` and saving; rank 0 reports
    /// the test loss and token accuracy at the end.
    private func tuneSeq2Seq(_ model: T5) throws -> Result {
        let s = settings, pairs = self.pairs!
        let tuner = try Seq2SeqTuner(model: model, microBatch: s.microBatch, accumulation: s.accumulation, settings: optimizer, seed: s.seed)
        let resumed = try resumeIfAsked(tuner)
        if let bf16 = try mixedPrecision() { try tuner.useBF16(bf16) }
        let main = comm.rank == 0
        if main {
            events(.loaded(directory: checkpoint.directory, step: checkpoint.reader.manifest.step, loaded: model.layout.tensors.count,
                           fresh: [], frozen: false))
            events(.seq2seqTraining(steps: s.steps, ranks: comm.size, accumulation: s.accumulation, microBatch: s.microBatch, sourceLength: T,
                                    targetLength: targetLength, pairs: pairs.count, prefix: s.prefix))
            for (data, file) in [(pairs, s.data), (testPairs, s.test ?? "")] where (data?.truncated ?? 0) > 0 {
                events(.truncated(count: data!.truncated, total: data!.count, file: file, sourceLength: T, targetLength: targetLength))
            }
            if let resumed { events(.resumed(directory: resumed.path, step: resumed.step)) }
        }
        let perPair = (pairs.sources.reduce(0) { $0 + $1.count } + pairs.targets.reduce(0) { $0 + $1.count }) / max(1, pairs.count)
        let watch = try FineTuneWatch(run: self, resumed: resumed != nil, tokensPerStep: perPair * s.microBatch * s.accumulation * comm.size,
                                      test: testPairs.map { data in { Self.testMetrics(try tuner.evaluate(data)) } })
        if let stopped = try drive(tuner, watch: watch, { try tuner.train(pairs, steps: s.steps - tuner.stepsDone, lr: s.lr, comm: comm, onStep: $0) }) {
            return stopped
        }
        guard main, let testPairs else { return Result(saved: watch.lastSaved, accuracy: nil) }
        let result = try watch.evaluation ?? watch.evaluate()
        events(.seq2seqTest(loss: result.loss, tokenAccuracy: result.accuracy, pairs: testPairs.count,
                            tokens: testPairs.targets.reduce(0) { $0 + $1.count }))
        return Result(saved: watch.lastSaved, accuracy: result.accuracy)
    }

    /// (token accuracy, loss per target token) from an evaluation's sums.
    static func testMetrics(_ sums: (lossSum: Double, correct: Double, tokens: Double)) -> (accuracy: Double, loss: Double) {
        (sums.correct / max(1, sums.tokens), sums.lossSum / max(1, sums.tokens))
    }
}
