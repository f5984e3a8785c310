import Kernels
import Model
import XCTest
import Support

/// KV-cache inference against the full (training) forward: the same logits at every position, and the
/// same greedy continuation.
final class GPTInferenceTests: XCTestCase {
    /// A small model with weights large enough that attention is far from uniform.
    func makeModel(positions: GPTConfig.Positions = .learned, T: Int = 24) throws -> GPT {
        var config = GPTConfig(vocabSize: 61, maxSeqLen: T, nLayer: 3, nHead: 4, dModel: 32)
        config.positions = positions
        let model = try GPT(config: config, maxBatch: 1, maxSeqLen: T)
        model.initializeWeights(seed: 7)
        var rng = SplitMix64(seed: 11)
        for i in 0..<model.params.count { model.params.pointer[i] += Float(rng.uniform() - 0.5) * 0.2 }
        model.training = false
        return model
    }

    func tokens(_ n: Int, vocab: Int, seed: UInt64 = 3) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
    }

    /// max |a − b| / max |b| over one (V) row.
    func relativeError(_ a: UnsafeBufferPointer<Float>, _ b: UnsafePointer<Float>) -> Float {
        var diff: Float = 0, scale: Float = 0
        for i in a.indices { diff = max(diff, abs(a[i] - b[i])); scale = max(scale, abs(b[i])) }
        return diff / max(scale, 1e-30)
    }

    func testCachedLogitsEqualFullForwardAtEveryPosition() throws {
        for positions in [GPTConfig.Positions.learned, .sinusoidal] {
            for threads in [1, 2] {
                Parallel.setThreads(threads)
                let model = try makeModel(positions: positions)
                let T = model.config.maxSeqLen, V = model.config.vocabSize
                let ids = tokens(T, vocab: V)
                _ = try ids.withUnsafeBufferPointer { try model.forward(tokens: $0.baseAddress!, targets: nil, B: 1, T: T) }
                let inference = try GPTInference(model: model)
                // One token at a time: position t's logits against row t of the full forward.
                for t in 0..<T {
                    let logits = try ids.withUnsafeBufferPointer { try inference.append(UnsafeBufferPointer(rebasing: $0[t..<(t + 1)])) }
                    let err = relativeError(logits, model.logits + t * V)
                    XCTAssertLessThanOrEqual(err, 1e-5, "position \(t), \(positions), \(threads) thread(s)")
                }
                XCTAssertEqual(inference.position, T)
                // A prompt in one call (prefill), then single tokens: same logits again.
                inference.reset()
                let logits = try ids.withUnsafeBufferPointer { try inference.append(UnsafeBufferPointer(rebasing: $0[0..<10])) }
                XCTAssertLessThanOrEqual(relativeError(logits, model.logits + 9 * V), 1e-5, "prefill of 10")
                for t in 10..<T {
                    let logits = try ids.withUnsafeBufferPointer { try inference.append(UnsafeBufferPointer(rebasing: $0[t..<(t + 1)])) }
                    XCTAssertLessThanOrEqual(relativeError(logits, model.logits + t * V), 1e-5, "position \(t) after prefill")
                }
            }
        }
        Parallel.setThreads(1)
    }

    func testGreedyGenerationWithCacheEqualsGenerationWithout() throws {
        let model = try makeModel()
        let V = model.config.vocabSize, T = model.config.maxSeqLen
        let prompt = tokens(5, vocab: V, seed: 9)
        // Without a cache: the whole sequence again for every new token, argmax of the last row.
        var slow = prompt
        while slow.count < T {
            let n = slow.count
            _ = try slow.withUnsafeBufferPointer { try model.forward(tokens: $0.baseAddress!, targets: nil, B: 1, T: n) }
            slow.append(TokenSampler.argmax(UnsafeBufferPointer(start: model.logits + (n - 1) * V, count: V)))
        }
        // With the cache, through every greedy setting of the sampler.
        for (temperature, topK) in [(Float(0), 0), (0, 5), (1.3, 1), (0.7, 1)] {
            var sampler = try TokenSampler(temperature: temperature, topK: topK, seed: 123, vocabularySize: V)
            XCTAssertTrue(sampler.isGreedy)
            let inference = try GPTInference(model: model)
            var fast = prompt
            var logits = try prompt.withUnsafeBufferPointer { try inference.append($0) }
            while fast.count < T {
                let next = sampler.pick(logits)
                fast.append(next)
                if fast.count < T { logits = try [next].withUnsafeBufferPointer { try inference.append($0) } }
            }
            XCTAssertEqual(fast, slow, "temperature \(temperature), top-k \(topK)")
        }
    }

    func testSampledGenerationIsDeterministicPerSeed() throws {
        let model = try makeModel()
        let V = model.config.vocabSize
        func generate(seed: UInt64) throws -> [Int32] {
            var sampler = try TokenSampler(temperature: 1, topK: 10, seed: seed, vocabularySize: V)
            let inference = try GPTInference(model: model)
            var out: [Int32] = []
            var logits = try [1, 2, 3].withUnsafeBufferPointer { try inference.append($0) }
            for _ in 0..<15 {
                let next = sampler.pick(logits)
                out.append(next)
                logits = try [next].withUnsafeBufferPointer { try inference.append($0) }
            }
            return out
        }
        XCTAssertEqual(try generate(seed: 1), try generate(seed: 1))
        XCTAssertNotEqual(try generate(seed: 1), try generate(seed: 2), "different seeds should differ over 15 sampled tokens")
    }

    func testFullCacheAndBadTokensThrowWithoutChangingTheCache() throws {
        let model = try makeModel(T: 8)
        let inference = try GPTInference(model: model)
        try Array(repeating: Int32(1), count: 6).withUnsafeBufferPointer { _ = try inference.append($0) }
        XCTAssertThrowsError(try Array(repeating: Int32(1), count: 3).withUnsafeBufferPointer { try inference.append($0) }) { error in
            XCTAssertTrue("\(error)".contains("max_seq_len"), "\(error)")
        }
        XCTAssertThrowsError(try [Int32(61)].withUnsafeBufferPointer { try inference.append($0) }) { error in
            XCTAssertTrue("\(error)".contains("vocab_size"), "\(error)")
        }
        XCTAssertEqual(inference.position, 6)
    }
}
