import Foundation
import Kernels
import Model
import Support
import Training

/// Training-step throughput of one process on a benchmark preset: GPT forward + backward + AdamW
/// (`T5StepBenchmark` times the T5 presets into the same `Result`).
public enum StepBenchmark {
    /// What was measured.
    public struct Result<Preset: StepPreset> {
        public var settings: StepBenchmarkSettings<Preset>
        /// Parameters of the preset model.
        public var parameters: Int
        /// Tokens of one step (GPT: B·T; T5: B·(S + T)).
        public var tokensPerStep: Int
        /// Floats of the model's activations.
        public var activationFloats: Int
        /// The measured matmul peak at the same thread count, GFLOP/s: sgemm's, or with bf16 the bf16
        /// matmul's (oneDNN's, or sgemm's where bf16 is emulated).
        public var peakGFLOPS: Double
        public var steps: TimedSteps
        public var tokensPerSecond: Double
        /// Model FLOPs utilisation against `peakGFLOPS` (GPT: 6·N + 12·L·d·T FLOPs per token; T5:
        /// `T5BenchPreset.trainingFLOPs`).
        public var mfu: Double
        /// Peak resident set size, bytes.
        public var peakRSS: Int
        /// What `MemoryPlan` predicted for it before the model was allocated, bytes.
        public var plannedRSS: Int
        /// The matmul precision and kernel: "fp32", or "bf16 native: brg:avx512_core_bf16" and the like.
        public var kernel: String
    }

    /// "fp32", or the bf16 matmul's path and kernel ("bf16 native: brg:avx512_core_bf16").
    static func kernelName(_ bf16: BF16Matmul?) -> String { bf16.map { "bf16 \($0.path.rawValue): \($0.kernel)" } ?? "fp32" }

    /// Builds the preset model and times its steps on random tokens.
    public static func run(_ settings: StepBenchmarkSettings<BenchPreset>) throws -> Result<BenchPreset> {
        let p = settings.preset
        Parallel.setThreads(settings.threads)
        let (bf16, peak) = try settings.matmulAndPeak()
        let plan = MemoryPlan(gpt: p.config, B: p.batch, T: p.seqLen, baseline: MemoryPlan.residentBytes(), bf16ElementSize: bf16?.elementSize)
        let model = try GPT(config: p.config, maxBatch: p.batch, maxSeqLen: p.seqLen)
        model.initializeWeights(seed: 1337)
        try model.useBF16(bf16)
        let optimizer = try Optimizer(layout: model.layout, settings: Optimizer.Settings())
        var rng = SplitMix64(seed: 42)
        let n = p.batch * p.seqLen
        let tokens = (0..<n).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
        let targets = (0..<n).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
        let timed = try TimedSteps.run(model: model, optimizer: optimizer, warmup: settings.warmup, steps: settings.steps) {
            try tokens.withUnsafeBufferPointer { x in
                try targets.withUnsafeBufferPointer { y in
                    try model.forward(tokens: x.baseAddress!, targets: y.baseAddress!, B: p.batch, T: p.seqLen)
                }
            }
        }
        let tokensPerSecond = Double(n) / timed.median
        let flopsPerToken = 6.0 * Double(model.layout.count) + 12.0 * Double(p.config.nLayer * p.config.dModel * p.seqLen)
        return Result(settings: settings, parameters: model.layout.count, tokensPerStep: n, activationFloats: model.acts.floatCount, peakGFLOPS: peak,
                      steps: timed, tokensPerSecond: tokensPerSecond, mfu: tokensPerSecond * flopsPerToken / (peak * 1e9),
                      peakRSS: MemoryStats.peakResidentBytes(), plannedRSS: plan.total, kernel: kernelName(bf16))
    }
}

extension StepBenchmark.Result {
    /// The result as one JSON object on one line.
    public var jsonLine: String {
        let fields = ["\"preset\":\"\(settings.preset.name)\"", "\"threads\":\(settings.threads)", "\"parameters\":\(parameters)",
                      "\"tokens_per_step\":\(tokensPerStep)", "\"tokens_per_s\":\(Int(tokensPerSecond))",
                      "\"ms_per_step\":\(String(format: "%.1f", steps.median * 1000))", "\"mfu\":\(String(format: "%.3f", mfu))",
                      "\"peak_gflops\":\(Int(peakGFLOPS))", "\"matmul\":\"\(kernel)\"", "\"peak_rss_mb\":\(peakRSS / 1_048_576)", "\"planned_rss_mb\":\(plannedRSS / 1_048_576)", "\"loss\":\(steps.loss)"]
        return "{" + (fields + steps.shareFields).joined(separator: ",") + "}"
    }

    /// The result as the table `pretrain bench step` prints.
    public var tableLines: [String] {
        let p = settings.preset
        let accounted = Double(parameters) * 16 + Double(activationFloats) * 4
        return ["preset \(p.name): \(parameters) parameters, \(p.shapeSummary), \(settings.threads) thread(s), BLAS core \(BLASRuntime.coreName), matmuls \(kernel)"]
            + steps.headLines(peakGFLOPS: peakGFLOPS, steps: settings.steps, tokensPerSecond: tokensPerSecond, mfu: mfu)
            + steps.profileLines
            + ["peak RSS        \(peakRSS / 1_048_576) MiB (params+grads+moments \(Int(Double(parameters) * 16 / 1_048_576)) MiB + activations \(activationFloats * 4 / 1_048_576) MiB = \(Int(accounted / 1_048_576)) MiB accounted)",
               String(format: "memory plan     %d MiB (%+.1f%% against peak RSS)", plannedRSS / 1_048_576, 100 * (Double(plannedRSS) / Double(max(1, peakRSS)) - 1)),
               "final loss      \(steps.loss)"]
    }
}
