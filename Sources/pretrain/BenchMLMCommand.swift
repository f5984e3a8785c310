import ArgumentParser
import DataPipeline
import Foundation
import Kernels
import Model
import Support

/// `pretrain bench mlm`: masked-LM training-step throughput of one process (BERT on preset shapes).
struct BenchMLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlm",
        abstract: "Time BERT masked-LM forward + backward + AdamW steps; print tokens/s, ms/step, MFU.",
        discussion: """
        Shapes of `pretrain bench step` as a post-LN BERT (feed-forward 4·d, 2 token types):
          s  vocab 8192, 6 layers, 6 heads, d 384, T 256, micro-batch 8
          m  vocab 50257, 12 layers, 12 heads, d 768, T 256, micro-batch 4
        Each step masks fresh random tokens with `MLMMasker` ([CLS] A [SEP], 15 % chosen by default), so
        the MLM head runs on the chosen rows only; --mask-rate 1 makes it run on every row.
        MFU counts 6·(N − V·d + rate·V·d) + 12·L·d·T FLOPs per token against sgemm's measured peak.
        Peer: python3 Tests/Peers/torch_bert.py --config S --threads 2 (Hugging Face BertForMaskedLM).
        Example: pretrain bench mlm --preset s --threads 2 --steps 8
        """)

    @Option(help: "Model preset: s or m.") var preset: String = "s"
    @Option(help: "Threads for BLAS and the project's loops.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Timed steps (the median is reported).") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2
    @Option(help: "Share of tokens chosen for the MLM loss.") var maskRate: Double = 0.15
    @Flag(help: "Print one JSON line instead of the table.") var json = false

    func run() throws {
        guard let p = BenchPreset(rawValue: preset.lowercased()) else {
            throw CLIError("--preset \(preset) is not a preset; use s or m")
        }
        guard threads >= 1 else { throw CLIError("--threads \(threads) must be at least 1") }
        guard steps >= 1, warmup >= 0 else { throw CLIError("--steps must be ≥ 1 and --warmup ≥ 0") }
        guard maskRate > 0, maskRate <= 1 else { throw CLIError("--mask-rate \(maskRate) must be in (0, 1]") }
        Parallel.setThreads(threads)
        let peak = BLASRuntime.measurePeakGFLOPS()
        let g = p.config
        let config = BERTConfig(vocabSize: g.vocabSize, maxSeqLen: p.seqLen, nLayer: g.nLayer, nHead: g.nHead, dModel: g.dModel)
        let B = p.batch, T = p.seqLen, V = config.vocabSize
        let model = try BERT(config: config, maxBatch: B, maxSeqLen: T)
        model.initializeWeights(seed: 1337)
        let optimizer = AdamWOptimizer(layout: model.layout, settings: AdamWOptimizer.Settings())
        let specials = BERTSpecialTokens(cls: 1, sep: 2, mask: 3, pad: 0)
        let masker = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: V, specials: specials, seed: 42)
        masker.maskRate = maskRate
        let contentLength = MLMMasker.contentLength(sequenceLength: T, nextSentence: false)
        var rng = SplitMix64(seed: 42)
        let content = (0..<(B * contentLength)).map { _ in Int32(4 + rng.next() % UInt64(V - 4)) }
        let profile = StepProfile()
        var times: [Double] = []
        var loss: Float = 0
        for i in 0..<(warmup + steps) {
            content.withUnsafeBufferPointer { masker.build(content: $0.baseAddress!, contentLength: contentLength, firstSequence: UInt64(i * B)) }
            if i == warmup { profile.reset(); model.profile = profile }
            let start = StepProfile.now()
            loss = try model.forward(tokens: masker.tokens.baseAddress!, segments: masker.segments.baseAddress!,
                                     attentionMask: masker.attentionMask.baseAddress!, targets: masker.targets.baseAddress!, B: B, T: T)
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
        let tokensPerSecond = Double(B * T) / median
        let decoder = Double(V * config.dModel)
        let flopsPerToken = 6.0 * (Double(model.layout.count) - decoder + decoder * maskRate) + 12.0 * Double(config.nLayer * config.dModel * T)
        let mfu = tokensPerSecond * flopsPerToken / (peak * 1e9)
        let total = times.reduce(0, +)
        if json {
            var fields = ["\"preset\":\"\(p.rawValue)\"", "\"threads\":\(threads)", "\"mask_rate\":\(maskRate)", "\"tokens_per_s\":\(Int(tokensPerSecond))",
                          "\"ms_per_step\":\(String(format: "%.1f", median * 1000))", "\"mfu\":\(String(format: "%.3f", mfu))",
                          "\"peak_gflops\":\(Int(peak))", "\"head_rows\":\(model.headRows)", "\"loss\":\(loss)"]
            for k in StepProfile.Kind.allCases { fields.append("\"\(k)_share\":\(String(format: "%.3f", profile.seconds(k) / total))") }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        print("preset \(p.rawValue) (BERT MLM): \(model.layout.count) parameters, B=\(B) T=\(T), \(threads) thread(s), mask rate \(maskRate)")
        print("sgemm peak      \(String(format: "%.1f", peak)) GFLOP/s")
        print("step (median)   \(String(format: "%.1f", median * 1000)) ms over \(steps) steps (min \(String(format: "%.1f", times.min()! * 1000)), max \(String(format: "%.1f", times.max()! * 1000)))")
        print("tokens/s        \(Int(tokensPerSecond))")
        print("MFU             \(String(format: "%.1f", mfu * 100)) %")
        print("MLM head rows   \(model.headRows) of \(B * T)")
        for k in StepProfile.Kind.allCases {
            print("  \(k.label.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%5.1f", profile.seconds(k) / total * 100)) %")
        }
        print("final loss      \(loss)")
    }
}
