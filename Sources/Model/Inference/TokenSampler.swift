import Foundation
import Support

/// Picks the next token from a (V) logits row: greedy, or sampled with temperature and top-k.
///
/// Temperature 0, or top-k 1, is greedy (argmax; the lowest id wins a tie), and never draws a random
/// number. Otherwise the logits are divided by the temperature, restricted to the k largest when
/// top-k > 0 (ties at the k-th value are all kept), softmaxed, and one token is drawn with a
/// `SplitMix64` stream from `seed`: the same seed and logits give the same tokens. A top-k larger than
/// the vocabulary is an error (thrown by `init` checks against V), not silently clamped, so a typo
/// does not quietly mean "no top-k".
public struct TokenSampler {
    /// Softmax temperature; 0 = greedy.
    public let temperature: Float
    /// Keep only the k most likely tokens; 0 = all.
    public let topK: Int
    private var rng: SplitMix64
    private var weights: [Double] = []

    /// A sampler for a vocabulary of `vocabularySize`. Throws for a negative temperature, a negative
    /// top-k, or a top-k larger than the vocabulary.
    public init(temperature: Float, topK: Int, seed: UInt64, vocabularySize: Int) throws {
        guard temperature >= 0, temperature.isFinite else {
            throw ModelError("temperature \(temperature) must be a finite number ≥ 0 (0 = greedy)")
        }
        guard topK >= 0 else { throw ModelError("top-k \(topK) must be ≥ 0 (0 = no top-k, 1 = greedy)") }
        guard topK <= vocabularySize else {
            throw ModelError("top-k \(topK) is larger than the model's vocabulary of \(vocabularySize) tokens; use at most \(vocabularySize), or 0 for no top-k")
        }
        self.temperature = temperature
        self.topK = topK
        rng = SplitMix64(seed: seed)
        weights.reserveCapacity(vocabularySize)
    }

    /// Whether every pick is the argmax.
    public var isGreedy: Bool { temperature == 0 || topK == 1 }

    /// The index of the largest logit (the first one on a tie).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var value = -Float.infinity
        for i in logits.indices where logits[i] > value { value = logits[i]; best = i }
        return Int32(best)
    }

    /// The next token for `logits` (V).
    public mutating func pick(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if isGreedy { return Self.argmax(logits) }
        let V = logits.count
        var cutoff = -Float.infinity
        if topK > 0, topK < V {
            // The k-th largest value: partial selection over a copy of the values.
            var values = Array(logits)
            values.withUnsafeMutableBufferPointer { v in
                v.sort(by: >)
                cutoff = v[topK - 1]
            }
        }
        var mx = -Float.infinity
        for x in logits where x >= cutoff && x > mx { mx = x }
        weights.removeAll(keepingCapacity: true)
        var total = 0.0
        let inv = 1 / Double(temperature)
        for x in logits {
            let e = x >= cutoff ? Foundation.exp(Double(x - mx) * inv) : 0
            weights.append(e)
            total += e
        }
        var r = rng.uniform() * total
        for (i, e) in weights.enumerated() where e > 0 {
            r -= e
            if r <= 0 { return Int32(i) }
        }
        // Rounding left r > 0 after the last weight: the last token with weight.
        return Int32(weights.lastIndex { $0 > 0 } ?? 0)
    }
}
