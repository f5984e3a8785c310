import Foundation
import Kernels
import Model
import Support

/// Greedy generation speed of a T5 (t5-small's shape by default, random weights) with the caches
/// (`T5Inference`: encoder once, cross-attention K/V once, self-attention K/V cached) and without them
/// (a full `T5.forward`, encoder and decoder over every position, per new token); both paths must
/// choose the same tokens. Every run makes exactly `newTokens` tokens (EOS does not stop it). With
/// `beams` > 1 it also times `BeamSearch` (the beams as rows of one cached step) against greedy.
public enum T5GenerateBenchmark {
    /// The shape: Hugging Face's t5-small (d 512, 6+6 layers, 8 heads, d_ff 2048, vocab 32128).
    public static var t5Small: T5Config { T5Config() }

    /// Times both paths (median of `repeats` runs each; the uncached one skipped when `cacheOnly`) and
    /// returns the table `pretrain bench generate --preset t5-small` prints.
    public static func run(threads: Int, sourceTokens: Int, newTokens: Int, repeats: Int, cacheOnly: Bool, beams: Int = 1,
                           config: T5Config = t5Small) throws -> [String] {
        guard threads >= 1 else { throw BenchmarkError("--threads \(threads) must be at least 1") }
        guard sourceTokens >= 1, newTokens >= 1, repeats >= 1 else { throw BenchmarkError("--prompt-tokens, --new-tokens and --repeats must be ≥ 1") }
        Parallel.setThreads(threads)
        let model = try T5(config: config, maxBatch: 1, maxSource: sourceTokens, maxTarget: newTokens)
        model.initializeWeights(seed: 1337)
        model.training = false
        var rng = SplitMix64(seed: 5)
        let source = (0..<sourceTokens).map { _ in Int32(2 + rng.next() % UInt64(config.vocabSize - 2)) }
        let inference = try T5Inference(model: model, capacity: newTokens)
        let V = config.vocabSize

        func cached() throws -> [Int32] {
            try inference.start(source: source)
            var out = [config.decoderStartTokenId]
            for _ in 0..<newTokens { out.append(TokenSampler.argmax(try inference.append(out.last!))) }
            return out
        }
        func uncached() throws -> [Int32] {
            var out = [config.decoderStartTokenId]
            for t in 1...newTokens {
                try model.forward(source: source, sourceMask: nil, decoderInput: out, targets: nil, B: 1, S: sourceTokens, T: t)
                out.append(TokenSampler.argmax(UnsafeBufferPointer(start: model.logits + (t - 1) * V, count: V)))
            }
            return out
        }
        func time(_ body: () throws -> [Int32]) throws -> (Double, [Int32]) {
            var times: [Double] = [], tokens: [Int32] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                tokens = try body()
                times.append(Statistics.seconds(since: start))
            }
            return (Statistics.median(times), tokens)
        }
        _ = try cached()  // warm-up
        let (withCache, a) = try time(cached), n = Double(newTokens)
        var lines = ["t5 (d \(config.dModel), \(config.numLayers)+\(config.numDecoderLayers) layers, vocab \(V)): \(model.layout.count) parameters, source \(sourceTokens) + \(newTokens) new tokens, \(threads) thread(s), median of \(repeats)",
                     String(format: "with caches       %8.1f tokens/s  (%.1f ms/token)", n / withCache, withCache / n * 1000)]
        if beams > 1 {
            var settings = GenerationSettings()
            settings.numBeams = beams
            settings.maxNewTokens = newTokens
            let search = try BeamSearch(inference: T5Inference(model: model, capacity: newTokens, rows: beams), settings: settings)
            var steps = 0
            let (seconds, _) = try time { let ids = try search.run(source: source).ids; steps = ids.count; return ids }
            lines.append(String(format: "%d beams          %8.1f steps/s  (%.1f ms/step: %.2f× a greedy token for %d× the rows)",
                                beams, Double(steps) / seconds, seconds / Double(steps) * 1000, seconds / Double(steps) / (withCache / n), beams))
        }
        guard !cacheOnly else { return lines }
        let (without, b) = try time(uncached)
        lines.append(String(format: "without caches    %8.1f tokens/s  (%.1f ms/token)", n / without, without / n * 1000))
        lines.append(String(format: "speed-up          %8.1f×", without / withCache))
        if a != b { lines.append("warning: the two paths chose different tokens (float rounding decided a near-tie)") }
        return lines
    }
}
