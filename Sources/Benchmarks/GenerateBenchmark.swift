import Foundation
import Kernels
import Model
import Support

/// Greedy generation speed of a preset model with the key/value cache and without it (a full forward
/// per token), on random weights; both paths must choose the same tokens.
public enum GenerateBenchmark {
    /// What to measure.
    public struct Settings: Sendable {
        public var preset: BenchPreset
        public var threads: Int
        public var promptTokens: Int
        public var newTokens: Int
        /// Timed runs per path (the median is reported).
        public var repeats: Int
        /// Skip the run without the cache.
        public var cacheOnly: Bool

        /// Checks the values, throwing the command line's one-line messages.
        public init(preset: String, threads: Int, promptTokens: Int, newTokens: Int, repeats: Int, cacheOnly: Bool) throws {
            self.preset = try BenchPreset.named(preset)
            guard threads >= 1 else { throw BenchmarkError("--threads \(threads) must be at least 1") }
            guard promptTokens >= 1, newTokens >= 1, repeats >= 1 else { throw BenchmarkError("--prompt-tokens, --new-tokens and --repeats must be ≥ 1") }
            let length = promptTokens + newTokens
            guard length <= self.preset.config.maxSeqLen else {
                throw BenchmarkError("--prompt-tokens + --new-tokens = \(length) exceeds the preset's \(self.preset.config.maxSeqLen) positions")
            }
            (self.threads, self.promptTokens, self.newTokens, self.repeats, self.cacheOnly) = (threads, promptTokens, newTokens, repeats, cacheOnly)
        }
    }

    /// What was measured.
    public struct Result: Sendable {
        public var settings: Settings
        public var parameters: Int
        /// Median seconds of a run with the cache.
        public var withCache: Double
        /// Median seconds of a run without the cache (nil: skipped, or not measured yet).
        public var withoutCache: Double?
        /// Whether both paths chose the same tokens.
        public var sameTokens = true
    }

    /// Times both paths. `cachedDone` receives the result once the cached path is timed (the slow
    /// path without the cache comes after it), so that its lines can be shown early.
    public static func run(_ s: Settings, cachedDone: (Result) -> Void = { _ in }) throws -> Result {
        let p = s.preset, length = s.promptTokens + s.newTokens, newTokens = s.newTokens
        Parallel.setThreads(s.threads)
        let model = try GPT(config: p.config, maxBatch: 1, maxSeqLen: length)
        model.initializeWeights(seed: 1337)
        model.training = false
        var rng = SplitMix64(seed: 5)
        let prompt = (0..<s.promptTokens).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
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
            for _ in 0..<s.repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                tokens = try body()
                times.append(Statistics.seconds(since: start))
            }
            return (times.sorted()[times.count / 2], tokens)
        }
        _ = try cached()  // warm-up
        let (withCache, a) = try time(cached)
        var result = Result(settings: s, parameters: model.layout.count, withCache: withCache)
        cachedDone(result)
        guard !s.cacheOnly else { return result }
        let (without, b) = try time(uncached)
        result.withoutCache = without
        result.sameTokens = a == b
        return result
    }
}

extension GenerateBenchmark.Result {
    /// The table `pretrain bench generate` prints.
    public var lines: [String] {
        let s = settings, n = Double(s.newTokens)
        var lines = ["preset \(s.preset.rawValue): \(parameters) parameters, prompt \(s.promptTokens) + \(s.newTokens) new tokens, \(s.threads) thread(s), median of \(s.repeats)",
                     String(format: "with KV cache     %8.1f tokens/s  (%.1f ms/token)", n / withCache, withCache / n * 1000)]
        guard let without = withoutCache else { return lines }
        lines.append(String(format: "without cache     %8.1f tokens/s  (%.1f ms/token)", n / without, without / n * 1000))
        lines.append(String(format: "speed-up          %8.1f×", without / withCache))
        if !sameTokens { lines.append("warning: the two paths chose different tokens (float rounding decided a near-tie)") }
        return lines
    }
}
