import Foundation
import Support

/// Picks the next token from a (V) logits row: greedy, or sampled after Hugging Face's logits warpers
/// in `generate`'s order — temperature, top-k, top-p.
///
/// Temperature 0, or top-k 1, is greedy (argmax; the lowest id wins a tie), and never draws a random
/// number. Otherwise the logits are divided by the temperature (`TemperatureLogitsWarper`); with
/// top-k > 0 only values ≥ the k-th largest stay (`TopKLogitsWarper`: ties at the k-th value are all
/// kept); with top-p < 1 the kept tokens sorted by ascending value are dropped while the cumulative
/// softmax up to and including them is ≤ 1 − p, the most likely one always kept (`TopPLogitsWarper`);
/// the survivors are softmaxed and one token is drawn with a `SplitMix64` stream from `seed`: the same
/// seed and logits give the same tokens. A top-k larger than the vocabulary is an error (thrown by
/// `init`), not silently clamped, so a typo does not quietly mean "no top-k". Scratch is allocated once
/// (V entries); a pick allocates nothing.
public struct TokenSampler {
    /// Softmax temperature; 0 = greedy.
    public let temperature: Float
    /// Keep only the k most likely tokens; 0 = all.
    public let topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 = all.
    public let topP: Float
    private var rng: SplitMix64
    private var weights: [Double]
    private var values: [Float]
    private var order: [Int32]

    /// A sampler for a vocabulary of `vocabularySize`. Throws for a negative temperature, a negative
    /// top-k, a top-k larger than the vocabulary, or a top-p outside [0, 1].
    public init(temperature: Float, topK: Int, topP: Float = 1, seed: UInt64, vocabularySize: Int) throws {
        guard temperature >= 0, temperature.isFinite else {
            throw ModelError("temperature \(temperature) must be a finite number ≥ 0 (0 = greedy)")
        }
        guard topK >= 0 else { throw ModelError("top-k \(topK) must be ≥ 0 (0 = no top-k, 1 = greedy)") }
        guard topK <= vocabularySize else {
            throw ModelError("top-k \(topK) is larger than the model's vocabulary of \(vocabularySize) tokens; use at most \(vocabularySize), or 0 for no top-k")
        }
        guard topP >= 0, topP <= 1 else { throw ModelError("top-p \(topP) must be in [0, 1] (1 = no top-p)") }
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        rng = SplitMix64(seed: seed)
        weights = Array(repeating: 0, count: vocabularySize)
        values = Array(repeating: 0, count: vocabularySize)
        order = Array(repeating: 0, count: vocabularySize)
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

    /// The distribution `pick` draws from for `logits` (V): the warped softmax (one-hot when greedy).
    public mutating func probabilities(_ logits: UnsafeBufferPointer<Float>) -> [Double] {
        if isGreedy {
            let best = Int(Self.argmax(logits))
            return logits.indices.map { $0 == best ? 1 : 0 }
        }
        let total = warp(logits)
        return weights.prefix(logits.count).map { $0 / total }
    }

    /// The next token for `logits` (V).
    public mutating func pick(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if isGreedy { return Self.argmax(logits) }
        var r = rng.uniform() * warp(logits)
        var last = 0
        for i in logits.indices where weights[i] > 0 {
            r -= weights[i]
            if r <= 0 { return Int32(i) }
            last = i
        }
        return Int32(last)   // rounding left r > 0 after the last weight: the last token with weight
    }

    /// Fills `weights` with the unnormalised warped softmax of `logits` and returns their sum.
    private mutating func warp(_ logits: UnsafeBufferPointer<Float>) -> Double {
        let V = logits.count, temperature = temperature, topK = topK, topP = Double(topP)
        precondition(V <= weights.count, "\(V) logits for a sampler of \(weights.count) tokens")
        return values.withUnsafeMutableBufferPointer { values in
            order.withUnsafeMutableBufferPointer { order in
                weights.withUnsafeMutableBufferPointer { weights in
                    for i in 0..<V { values[i] = logits[i] / temperature }
                    var cutoff = -Float.infinity
                    if topK > 0, topK < V {
                        for i in 0..<V { weights[i] = Double(values[i]) }   // selection scratch (order is the top-p scratch)
                        cutoff = Float(Self.select(topK - 1, largestOf: UnsafeMutableBufferPointer(rebasing: weights[0..<V])))
                    }
                    var n = 0, top = -Float.infinity
                    for i in 0..<V where values[i] >= cutoff { order[n] = Int32(i); n += 1; top = max(top, values[i]) }
                    for i in 0..<V { weights[i] = 0 }
                    var first = 0
                    if topP < 1 {
                        Self.heapSort(UnsafeMutableBufferPointer(rebasing: order[0..<n]), by: values)
                        var total = 0.0
                        for j in 0..<n { total += exp(Double(values[Int(order[j])] - top)) }
                        var cumulative = 0.0
                        while first < n - 1 {
                            cumulative += exp(Double(values[Int(order[first])] - top)) / total
                            if cumulative > 1 - topP { break }
                            first += 1
                        }
                    }
                    var total = 0.0
                    for j in first..<n {
                        let i = Int(order[j]), e = exp(Double(values[i] - top))
                        weights[i] = e
                        total += e
                    }
                    return total
                }
            }
        }
    }

    /// The k-th largest (k from 0) of `a`, which is reordered (quickselect).
    static func select(_ k: Int, largestOf a: UnsafeMutableBufferPointer<Double>) -> Double {
        var lo = 0, hi = a.count - 1
        while lo < hi {
            let pivot = a[(lo + hi) / 2]
            var i = lo, j = hi
            while i <= j {
                while a[i] > pivot { i += 1 }
                while a[j] < pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return a[k] }
        }
        return a[k]
    }

    /// Sorts token ids by ascending value (ties by ascending id), in place (heapsort: no allocation).
    static func heapSort(_ ids: UnsafeMutableBufferPointer<Int32>, by values: UnsafeMutableBufferPointer<Float>) {
        func less(_ a: Int32, _ b: Int32) -> Bool {
            values[Int(a)] < values[Int(b)] || (values[Int(a)] == values[Int(b)] && a < b)
        }
        func sink(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end, less(ids[child], ids[child + 1]) { child += 1 }
                guard less(ids[root], ids[child]) else { return }
                ids.swapAt(root, child)
                root = child
            }
        }
        let n = ids.count
        for start in stride(from: n / 2 - 1, through: 0, by: -1) { sink(start, n) }
        for end in stride(from: n - 1, to: 0, by: -1) {
            ids.swapAt(0, end)
            sink(0, end)
        }
    }
}
