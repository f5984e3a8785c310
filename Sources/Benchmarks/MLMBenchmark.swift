import DataPipeline
import Foundation
import Kernels
import Model
import Support

/// Masked-LM training-step throughput of one process: the preset's shapes as a post-LN BERT, each step
/// masking fresh random tokens with `MLMMasker`.
public enum MLMBenchmark {
    /// What was measured.
    public struct Result {
        public var settings: StepBenchmarkSettings<BenchPreset>
        /// Share of tokens chosen for the MLM loss.
        public var maskRate: Double
        public var parameters: Int
        /// Rows the MLM head ran on in the last step.
        public var headRows: Int
        /// The measured matmul peak at the same thread count (sgemm's, or the bf16 matmul's), GFLOP/s.
        public var peakGFLOPS: Double
        public var steps: TimedSteps
        public var tokensPerSecond: Double
        /// 6·(N − V·d + rate·V·d) + 12·L·d·T FLOPs per token against `peakGFLOPS`.
        public var mfu: Double
    }

    /// Checks `--mask-rate`, throwing the command line's one-line message.
    public static func validate(maskRate: Double) throws {
        guard maskRate > 0, maskRate <= 1 else { throw BenchmarkError("--mask-rate \(maskRate) must be in (0, 1]") }
    }

    /// Builds the preset BERT and times its steps on random content.
    public static func run(_ settings: StepBenchmarkSettings<BenchPreset>, maskRate: Double) throws -> Result {
        try validate(maskRate: maskRate)
        let p = settings.preset
        Parallel.setThreads(settings.threads)
        let (bf16, peak) = try settings.matmulAndPeak()
        let g = p.config
        let config = BERTConfig(vocabSize: g.vocabSize, maxSeqLen: p.seqLen, nLayer: g.nLayer, nHead: g.nHead, dModel: g.dModel)
        let B = p.batch, T = p.seqLen, V = config.vocabSize
        let model = try BERT(config: config, maxBatch: B, maxSeqLen: T)
        model.initializeWeights(seed: 1337)
        try model.useBF16(bf16)
        let optimizer = try Optimizer(layout: model.layout, settings: Optimizer.Settings())
        let specials = BERTSpecialTokens(cls: 1, sep: 2, mask: 3, pad: 0)
        let masker = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: V, specials: specials, seed: 42)
        masker.maskRate = maskRate
        let contentLength = MLMMasker.contentLength(sequenceLength: T, nextSentence: false)
        var rng = SplitMix64(seed: 42)
        let content = (0..<(B * contentLength)).map { _ in Int32(4 + rng.next() % UInt64(V - 4)) }
        let timed = try TimedSteps.run(model: model, optimizer: optimizer, warmup: settings.warmup, steps: settings.steps, prepare: { i in
            content.withUnsafeBufferPointer { masker.build(content: $0.baseAddress!, contentLength: contentLength, firstSequence: UInt64(i * B)) }
        }, forward: {
            try model.forward(tokens: masker.tokens.baseAddress!, segments: masker.segments.baseAddress!,
                              attentionMask: masker.attentionMask.baseAddress!, targets: masker.targets.baseAddress!, B: B, T: T)
        })
        let tokensPerSecond = Double(B * T) / timed.median
        let decoder = Double(V * config.dModel)
        let flopsPerToken = 6.0 * (Double(model.layout.count) - decoder + decoder * maskRate) + 12.0 * Double(config.nLayer * config.dModel * T)
        return Result(settings: settings, maskRate: maskRate, parameters: model.layout.count, headRows: model.headRows, peakGFLOPS: peak,
                      steps: timed, tokensPerSecond: tokensPerSecond, mfu: tokensPerSecond * flopsPerToken / (peak * 1e9))
    }
}

extension MLMBenchmark.Result {
    /// The result as one JSON object on one line.
    public var jsonLine: String {
        let fields = ["\"preset\":\"\(settings.preset.rawValue)\"", "\"threads\":\(settings.threads)", "\"mask_rate\":\(maskRate)", "\"tokens_per_s\":\(Int(tokensPerSecond))",
                      "\"ms_per_step\":\(String(format: "%.1f", steps.median * 1000))", "\"mfu\":\(String(format: "%.3f", mfu))",
                      "\"peak_gflops\":\(Int(peakGFLOPS))", "\"head_rows\":\(headRows)", "\"loss\":\(steps.loss)"]
        return "{" + (fields + steps.shareFields).joined(separator: ",") + "}"
    }

    /// The result as the table `pretrain bench mlm` prints.
    public var tableLines: [String] {
        let p = settings.preset
        return ["preset \(p.rawValue) (BERT MLM): \(parameters) parameters, B=\(p.batch) T=\(p.seqLen), \(settings.threads) thread(s), mask rate \(maskRate)"]
            + steps.headLines(peakGFLOPS: peakGFLOPS, steps: settings.steps, tokensPerSecond: tokensPerSecond, mfu: mfu)
            + ["MLM head rows   \(headRows) of \(p.batch * p.seqLen)"]
            + steps.profileLines
            + ["final loss      \(steps.loss)"]
    }
}
