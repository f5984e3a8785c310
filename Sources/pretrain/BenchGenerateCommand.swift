import ArgumentParser
import Foundation
import Kernels
import Model
import Support

/// `pretrain bench generate`: generation speed with and without the key/value cache.
struct BenchGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Time greedy generation on a preset model, with the KV cache and without it (full forward per token).",
        discussion: """
        Random weights (speed does not depend on them). Both paths produce the same tokens (checked).
        Without the cache every new token runs the whole sequence again, as a model without inference
        support must; with it each token costs one position. Reports tokens/s (median of --repeats).
        Example: pretrain bench generate --preset m --threads 2 --prompt-tokens 16 --new-tokens 64
        """)

    @Option(help: "Model preset: s or m (see `pretrain bench step --help`).") var preset: String = "m"
    @Option(help: "Threads for BLAS and the project's loops.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Prompt length in tokens.") var promptTokens: Int = 16
    @Option(help: "Tokens generated per run.") var newTokens: Int = 64
    @Option(help: "Timed runs per path (the median is reported).") var repeats: Int = 3
    @Flag(help: "Skip the run without the cache (it is slow on big presets).") var cacheOnly = false

    func run() throws {
        guard let p = BenchPreset(rawValue: preset.lowercased()) else { throw CLIError("--preset \(preset) is not a preset; use s or m") }
        guard threads >= 1 else { throw CLIError("--threads \(threads) must be at least 1") }
        guard promptTokens >= 1, newTokens >= 1, repeats >= 1 else { throw CLIError("--prompt-tokens, --new-tokens and --repeats must be ≥ 1") }
        let length = promptTokens + newTokens
        guard length <= p.config.maxSeqLen else {
            throw CLIError("--prompt-tokens + --new-tokens = \(length) exceeds the preset's \(p.config.maxSeqLen) positions")
        }
        Parallel.setThreads(threads)
        let model = try GPT(config: p.config, maxBatch: 1, maxSeqLen: length)
        model.initializeWeights(seed: 1337)
        model.training = false
        var rng = SplitMix64(seed: 5)
        let prompt = (0..<promptTokens).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
        let V = p.config.vocabSize
        let inference = try GPTInference(model: model, capacity: length)

        func cached() throws -> [Int32] {
            inference.reset()
            var out = prompt
            var logits = try prompt.withUnsafeBufferPointer { try inference.append($0) }
            for i in 0..<newTokens {
                let next = TokenSampler.argmax(logits)
                out.append(next)
                if i + 1 < newTokens { logits = try [next].withUnsafeBufferPointer { try inference.append($0) } }
            }
            return out
        }
        func uncached() throws -> [Int32] {
            var out = prompt
            for _ in 0..<newTokens {
                let n = out.count
                _ = try out.withUnsafeBufferPointer { try model.forward(tokens: $0.baseAddress!, targets: nil, B: 1, T: n) }
                out.append(TokenSampler.argmax(UnsafeBufferPointer(start: model.logits + (n - 1) * V, count: V)))
            }
            return out
        }
        func time(_ body: () throws -> [Int32]) throws -> (Double, [Int32]) {
            var times: [Double] = []
            var tokens: [Int32] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                tokens = try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return (times.sorted()[times.count / 2], tokens)
        }
        _ = try cached()  // warm-up
        let (withCache, a) = try time(cached)
        print("preset \(p.rawValue): \(model.layout.count) parameters, prompt \(promptTokens) + \(newTokens) new tokens, \(threads) thread(s), median of \(repeats)")
        print(String(format: "with KV cache     %8.1f tokens/s  (%.1f ms/token)", Double(newTokens) / withCache, withCache / Double(newTokens) * 1000))
        guard !cacheOnly else { return }
        let (without, b) = try time(uncached)
        print(String(format: "without cache     %8.1f tokens/s  (%.1f ms/token)", Double(newTokens) / without, without / Double(newTokens) * 1000))
        print(String(format: "speed-up          %8.1f×", without / withCache))
        if a != b { print("warning: the two paths chose different tokens (float rounding decided a near-tie)") }
    }
}
