import Foundation
import Model
import XCTest

/// Greedy picks, top-k restriction and sampling frequencies against the softmax computed here; the
/// warpers against Hugging Face's.
final class TokenSamplerTests: XCTestCase {
    func testGreedyIsArgmaxWithFirstIndexOnTies() throws {
        let logits: [Float] = [0.5, 2, -1, 2, 1.9]
        var sampler = try TokenSampler(temperature: 0, topK: 0, seed: 1, vocabularySize: 5)
        XCTAssertEqual(logits.withUnsafeBufferPointer { sampler.pick($0) }, 1)
    }

    func testTopKSamplesOnlyTheKLargestWithSoftmaxFrequencies() throws {
        let logits: [Float] = [0, 1, 3, 2, -5, 2.5]
        var sampler = try TokenSampler(temperature: 1, topK: 2, seed: 42, vocabularySize: logits.count)
        var counts = [Int](repeating: 0, count: logits.count)
        let draws = 4000
        for _ in 0..<draws { counts[Int(logits.withUnsafeBufferPointer { sampler.pick($0) })] += 1 }
        XCTAssertEqual(counts[2] + counts[5], draws, "only the two largest logits (ids 2 and 5) are drawn: \(counts)")
        let expected = exp(3.0) / (exp(3.0) + exp(2.5))
        XCTAssertEqual(Double(counts[2]) / Double(draws), expected, accuracy: 0.03)
        // Temperature 2 flattens: the same softmax of logits / 2.
        var warm = try TokenSampler(temperature: 2, topK: 0, seed: 7, vocabularySize: logits.count)
        counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws { counts[Int(logits.withUnsafeBufferPointer { warm.pick($0) })] += 1 }
        let z = logits.map { exp(Double($0) / 2) }.reduce(0, +)
        for i in logits.indices {
            XCTAssertEqual(Double(counts[i]) / Double(draws), exp(Double(logits[i]) / 2) / z, accuracy: 0.03, "token \(i)")
        }
    }

    func testTopKLargerThanTheVocabularyIsAClearError() {
        XCTAssertThrowsError(try TokenSampler(temperature: 1, topK: 100, seed: 0, vocabularySize: 50)) { error in
            XCTAssertTrue("\(error)".contains("top-k 100 is larger than the model's vocabulary of 50"), "\(error)")
        }
        XCTAssertThrowsError(try TokenSampler(temperature: -1, topK: 0, seed: 0, vocabularySize: 50))
        XCTAssertNoThrow(try TokenSampler(temperature: 1, topK: 50, seed: 0, vocabularySize: 50))
    }

    /// One row of Fixtures/t5-sampling-warpers.json.
    struct Case: Decodable { let logits: [Float], temperature: Float, top_k: Int, top_p: Float, probabilities: [Double] }

    /// The warped distribution (temperature, then top-k, then top-p) equals Hugging Face's logits
    /// warpers' (Fixtures/t5-sampling-warpers.json, made by make_t5_generate.py), and draws follow it.
    func testWarpedDistributionEqualsHuggingFace() throws {
        struct File: Decodable { let cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: try T5GenerationTests.json("t5-sampling-warpers")).cases
        XCTAssertEqual(cases.count, 14)
        for (n, c) in cases.enumerated() {
            var sampler = try TokenSampler(temperature: c.temperature, topK: c.top_k, topP: c.top_p, seed: 1, vocabularySize: c.logits.count)
            let p = c.logits.withUnsafeBufferPointer { sampler.probabilities($0) }
            XCTAssertEqual(p.map { $0 > 0 }, c.probabilities.map { $0 > 0 }, "case \(n): the tokens kept")
            for i in p.indices { XCTAssertEqual(p[i], c.probabilities[i], accuracy: 1e-6, "case \(n), token \(i)") }
        }
        // Draws follow the warped distribution: 20,000 draws, each frequency within 5 standard errors.
        let c = cases[7]
        var sampler = try TokenSampler(temperature: c.temperature, topK: c.top_k, topP: c.top_p, seed: 3, vocabularySize: c.logits.count)
        var counts = [Int](repeating: 0, count: c.logits.count)
        let draws = 20_000
        for _ in 0..<draws { counts[Int(c.logits.withUnsafeBufferPointer { sampler.pick($0) })] += 1 }
        for (i, p) in c.probabilities.enumerated() {
            XCTAssertEqual(Double(counts[i]) / Double(draws), p, accuracy: 5 * (p * (1 - p) / Double(draws)).squareRoot() + 1e-12, "token \(i)")
        }
    }
}
