import Training
import XCTest

/// The arithmetic `pretrain predict` reports: softmax in double precision, candidates most likely
/// first with equal probabilities in id order.
final class TextPredictorTests: XCTestCase {
    func testSoftmaxSumsToOneAndKeepsTheOrderOfTheLogits() {
        let logits: [Float] = [1, 3, -2, 3, 0]
        let p = logits.withUnsafeBufferPointer { TextPredictor.softmax($0.baseAddress!, count: $0.count) }
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(p[1], p[3])
        XCTAssertEqual(p[0] / p[4], exp(1), accuracy: 1e-12)
        // Large logits do not overflow: the maximum is subtracted first.
        let large: [Float] = [1000, 999]
        let q = large.withUnsafeBufferPointer { TextPredictor.softmax($0.baseAddress!, count: 2) }
        XCTAssertEqual(q[0], 1 / (1 + exp(-1)), accuracy: 1e-12)
    }

    func testMostLikelyIsDescendingWithTiesInIDOrder() {
        let p = [0.1, 0.3, 0.05, 0.3, 0.25]
        XCTAssertEqual(TextPredictor.mostLikely(3, of: p), [1, 3, 4])
        XCTAssertEqual(TextPredictor.mostLikely(10, of: p), [1, 3, 4, 0, 2])
        XCTAssertEqual(TextPredictor.mostLikely(1, of: [0.5, 0.5]), [0])
    }
}
