import ArgumentParser
import Foundation
import Kernels
import Model
import Support

/// `pretrain bench step`: training-step throughput of one process on the benchmark presets.
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time forward + backward + AdamW steps on a preset model; print tokens/s, ms/step, MFU.",
        discussion: """
        Presets (the same shapes as ../shared/bench/torch_gpt.py, the PyTorch peer):
          s  vocab 8192, 6 layers, 6 heads, d 384, T 256, micro-batch 8
          m  GPT-2 124M: vocab 50257, 12 layers, 12 heads, d 768, 1024 positions, T 256, micro-batch 4
        MFU counts 6·N + 12·L·d·T FLOPs per token against sgemm's measured peak at the same thread count.
        Example: pretrain bench step --preset m --threads 2 --steps 10
        """)

    @Option(help: "Model preset: s or m.") var preset: String = "s"
    @Option(help: "Threads for BLAS and the project's loops.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Timed steps (the median is reported).") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2
    @Flag(help: "Print one JSON line instead of the table.") var json = false

    func run() throws {
        guard let p = BenchPreset(rawValue: preset.lowercased()) else {
            throw CLIError("--preset \(preset) is not a preset; use s or m")
        }
        guard threads >= 1 else { throw CLIError("--threads \(threads) must be at least 1") }
        guard steps >= 1, warmup >= 0 else { throw CLIError("--steps must be ≥ 1 and --warmup ≥ 0") }
        Parallel.setThreads(threads)
        let peak = BLASRuntime.measurePeakGFLOPS()
        let model = try GPT(config: p.config, maxBatch: p.batch, maxSeqLen: p.seqLen)
        model.initializeWeights(seed: 1337)
        let optimizer = AdamWOptimizer(layout: model.layout, settings: AdamWOptimizer.Settings())
        var rng = SplitMix64(seed: 42)
        let n = p.batch * p.seqLen
        let tokens = (0..<n).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
        let targets = (0..<n).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
        let profile = StepProfile()
        var times: [Double] = []
        var loss: Float = 0
        for i in 0..<(warmup + steps) {
            if i == warmup { profile.reset(); model.profile = profile }
            let start = StepProfile.now()
            loss = try tokens.withUnsafeBufferPointer { x in
                try targets.withUnsafeBufferPointer { y in
                    try model.forward(tokens: x.baseAddress!, targets: y.baseAddress!, B: p.batch, T: p.seqLen)
                }
            }
            model.zeroGrad()
            model.backward()
            let optStart = StepProfile.now()
            let scale = optimizer.clipScale(gradNorm: AdamWOptimizer.gradNorm(model.grads))
            optimizer.step(params: model.params, grads: model.grads, lr: 1e-4, gradScale: scale)
            let end = StepProfile.now()
            if i >= warmup {
                profile.add(.optimizer, end - optStart)
                times.append(Double(end - start) / 1e9)
            }
        }
        let median = times.sorted()[times.count / 2]
        let tokensPerSecond = Double(n) / median
        let flopsPerToken = 6.0 * Double(model.layout.count) + 12.0 * Double(p.config.nLayer * p.config.dModel * p.seqLen)
        let mfu = tokensPerSecond * flopsPerToken / (peak * 1e9)
        let total = times.reduce(0, +)
        let rss = MemoryStats.peakResidentBytes()
        let accounted = Double(model.layout.count) * 16 + Double(model.acts.floatCount) * 4
        if json {
            var fields = ["\"preset\":\"\(p.rawValue)\"", "\"threads\":\(threads)", "\"tokens_per_s\":\(Int(tokensPerSecond))",
                          "\"ms_per_step\":\(String(format: "%.1f", median * 1000))", "\"mfu\":\(String(format: "%.3f", mfu))",
                          "\"peak_gflops\":\(Int(peak))", "\"peak_rss_mb\":\(rss / 1_048_576)", "\"loss\":\(loss)"]
            for k in StepProfile.Kind.allCases { fields.append("\"\(k)_share\":\(String(format: "%.3f", profile.seconds(k) / total))") }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("preset \(p.rawValue): \(model.layout.count) parameters, B=\(p.batch) T=\(p.seqLen), \(threads) thread(s), BLAS core \(BLASRuntime.coreName)")
        print("sgemm peak      \(String(format: "%.1f", peak)) GFLOP/s")
        print("step (median)   \(String(format: "%.1f", median * 1000)) ms over \(steps) steps (min \(String(format: "%.1f", times.min()! * 1000)), max \(String(format: "%.1f", times.max()! * 1000)))")
        print("tokens/s        \(Int(tokensPerSecond))")
        print("MFU             \(String(format: "%.1f", mfu * 100)) %")
        for k in StepProfile.Kind.allCases {
            print("  \(k.label.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%5.1f", profile.seconds(k) / total * 100)) %")
        }
        print("peak RSS        \(rss / 1_048_576) MiB (params+grads+moments \(Int(Double(model.layout.count) * 16 / 1_048_576)) MiB + activations \(model.acts.floatCount * 4 / 1_048_576) MiB = \(Int(accounted / 1_048_576)) MiB accounted)")
        print("final loss      \(loss)")
    }
}

/// The benchmark model shapes shared with the PyTorch peer.
enum BenchPreset: String {
    case s, m

    var config: GPTConfig {
        switch self {
        case .s: GPTConfig(vocabSize: 8192, maxSeqLen: 256, nLayer: 6, nHead: 6, dModel: 384)
        case .m: GPTConfig(vocabSize: 50257, maxSeqLen: 1024, nLayer: 12, nHead: 12, dModel: 768)
        }
    }
    var batch: Int { self == .s ? 8 : 4 }
    var seqLen: Int { 256 }
}

/// Process memory statistics.
enum MemoryStats {
    /// Peak resident set size (VmHWM) in bytes, or 0 where /proc is unavailable.
    static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}
