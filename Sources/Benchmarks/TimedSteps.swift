import Foundation
import Kernels
import Model

/// The timed training steps of one process (forward + backward + AdamW) shared by `StepBenchmark`
/// and `MLMBenchmark`: untimed warm-up steps, then timed ones with a per-kernel profile.
public struct TimedSteps {
    /// Seconds of each timed step.
    public var times: [Double]
    /// Seconds per profile kind, summed over the timed steps.
    public var profileSeconds: [StepProfile.Kind: Double]
    /// The last step's loss.
    public var loss: Float

    /// The median step, seconds (the upper middle one for an even count).
    public var median: Double { times.sorted()[times.count / 2] }
    /// Seconds of all timed steps.
    public var total: Double { times.reduce(0, +) }

    /// Runs `warmup + steps` steps of `model`: `prepare(i)` (untimed), then `forward()` returning the
    /// loss, zeroing the gradients, backward, clipping and one AdamW step (timed).
    static func run<M: LanguageModel>(model: M, optimizer: Optimizer, warmup: Int, steps: Int,
                                      prepare: (Int) -> Void = { _ in }, forward: () throws -> Float) rethrows -> TimedSteps {
        let profile = StepProfile()
        var times: [Double] = []
        var loss: Float = 0
        for i in 0..<(warmup + steps) {
            prepare(i)
            if i == warmup { profile.reset(); model.profile = profile }
            let start = StepProfile.now()
            loss = try forward()
            model.zeroGrad()
            model.backward(lossScale: 1, onReady: nil)
            let optStart = StepProfile.now()
            let scale = optimizer.clipScale(gradNorm: Optimizer.gradNorm(model.grads))
            optimizer.step(params: model.params, grads: model.grads, lr: 1e-4, gradScale: scale, bf16: model.bf16)
            let end = StepProfile.now()
            if i >= warmup {
                profile.add(.optimizer, end - optStart)
                times.append(Double(end - start) / 1e9)
            }
        }
        var seconds: [StepProfile.Kind: Double] = [:]
        for k in StepProfile.Kind.allCases { seconds[k] = profile.seconds(k) }
        return TimedSteps(times: times, profileSeconds: seconds, loss: loss)
    }

    /// Share of the timed steps spent in `kind`.
    public func share(_ kind: StepProfile.Kind) -> Double { (profileSeconds[kind] ?? 0) / total }

    /// The JSON fields `"<kind>_share":0.123` of every profile kind.
    var shareFields: [String] {
        StepProfile.Kind.allCases.map { "\"\($0)_share\":\(String(format: "%.3f", share($0)))" }
    }

    /// The table rows common to the step benchmarks: sgemm peak, median step, tokens/s and MFU.
    func headLines(peakGFLOPS: Double, steps: Int, tokensPerSecond: Double, mfu: Double) -> [String] {
        ["matmul peak     \(String(format: "%.1f", peakGFLOPS)) GFLOP/s",
         "step (median)   \(String(format: "%.1f", median * 1000)) ms over \(steps) steps (min \(String(format: "%.1f", times.min()! * 1000)), max \(String(format: "%.1f", times.max()! * 1000)))",
         "tokens/s        \(Int(tokensPerSecond))",
         "MFU             \(String(format: "%.1f", mfu * 100)) %"]
    }

    /// One row per profile kind: its share of the timed steps, in percent.
    var profileLines: [String] {
        StepProfile.Kind.allCases.map { k in
            "  \(k.label.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%5.1f", share(k) * 100)) %"
        }
    }
}
