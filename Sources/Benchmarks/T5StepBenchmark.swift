import Foundation
import Kernels
import Model
import Support
import Training

/// Training-step throughput of one process on a T5 preset (`T5BenchPreset`): encoder and decoder
/// forward, the loss over every target, backward, gradient clipping and AdamW, on random source and
/// target tokens (decoder inputs are the targets shifted right, as Hugging Face builds them from
/// `labels`). Tokens/s counts source plus target tokens.
public enum T5StepBenchmark {
    /// Builds the preset model and times its steps.
    public static func run(_ settings: StepBenchmarkSettings<T5BenchPreset>) throws -> StepBenchmark.Result<T5BenchPreset> {
        let p = settings.preset, c = p.config
        let B = p.batch, S = p.sourceLength, T = p.targetLength
        Parallel.setThreads(settings.threads)
        let (bf16, peak) = try settings.matmulAndPeak()
        let plan = MemoryPlan(t5: c, B: B, S: S, T: T, baseline: MemoryPlan.residentBytes())
        let model = try T5(config: c, maxBatch: B, maxSource: S, maxTarget: T)
        model.initializeWeights(seed: 1337)
        try model.useBF16(bf16)
        let optimizer = try Optimizer(layout: model.layout, settings: Optimizer.Settings())
        var rng = SplitMix64(seed: 42)
        // Ids from 2 up: neither the padding (0, also the decoder's start) nor the end of sequence.
        let source = (0..<(B * S)).map { _ in Int32(2 + rng.next() % UInt64(c.vocabSize - 2)) }
        let targets = (0..<(B * T)).map { _ in Int32(2 + rng.next() % UInt64(c.vocabSize - 2)) }
        var decoderInput = [Int32](repeating: 0, count: B * T)
        targets.withUnsafeBufferPointer { y in decoderInput.withUnsafeMutableBufferPointer { model.shiftRight(y.baseAddress!, into: $0.baseAddress!, B: B, T: T) } }
        let timed = try TimedSteps.run(model: model, optimizer: optimizer, warmup: settings.warmup, steps: settings.steps) {
            try model.forward(source: source, sourceMask: nil, decoderInput: decoderInput, targets: targets, B: B, S: S, T: T)
        }
        let tokens = B * (S + T), tokensPerSecond = Double(tokens) / timed.median
        return StepBenchmark.Result(settings: settings, parameters: model.layout.count, tokensPerStep: tokens, activationFloats: model.acts.floatCount,
                                    peakGFLOPS: peak, steps: timed, tokensPerSecond: tokensPerSecond,
                                    mfu: p.trainingFLOPs / timed.median / (peak * 1e9), peakRSS: MemoryStats.peakResidentBytes(),
                                    plannedRSS: plan.total, kernel: StepBenchmark.kernelName(bf16))
    }
}
