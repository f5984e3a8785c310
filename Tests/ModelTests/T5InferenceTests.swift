import Foundation
import Kernels
import Model
import XCTest

/// T5's cached decoding: greedy outputs equal Hugging Face `generate` token for token
/// (Fixtures/t5-relu-tied-generate.safetensors, made by make_t5_parity.py), and the logits of every
/// cached step equal those of a full forward over the same decoder inputs.
final class T5InferenceTests: XCTestCase {
    func testGreedyEqualsHuggingFaceGenerate() throws {
        let fx = try T5Tests.Fixture("t5-relu-tied-parity")
        let file = try SafeTensors(path: try T5Tests.fixturePath("t5-relu-tied-generate"))
        let model = try T5(config: fx.config, maxBatch: 1, maxSource: fx.S, maxTarget: 1)
        let weights = try fx.makeModel()
        withExtendedLifetime(weights) { _ = model.params.buffer.update(from: weights.params.buffer) }
        let inference = try T5Inference(model: model, capacity: 12)
        for b in 0..<2 {
            let expected = try file.int32s("generated.\(b)")
            XCTAssertEqual(try inference.greedy(source: try file.int32s("source.\(b)"), maxNewTokens: 12), expected, "source \(b)")
        }
        XCTAssertThrowsError(try inference.greedy(source: [1, 2], maxNewTokens: 13)) {
            XCTAssertTrue("\($0)".contains("exceed the 12 positions"), "\($0)")
        }
    }

    /// Untied, gated, a deeper decoder than encoder: step t's cached logits are row t of a full forward.
    func testCachedLogitsEqualFullForward() throws {
        let fx = try T5Tests.Fixture("t5-gated-untied-parity")
        let model = try fx.makeModel()
        model.training = false
        let source = Array(fx.ids[0..<fx.S]), decoder: [Int32] = [0, 5, 17, 5, 3, 39, 1, 22, 8]
        try model.forward(source: source, sourceMask: nil, decoderInput: decoder, targets: nil, B: 1, S: fx.S, T: decoder.count)
        let V = fx.config.vocabSize
        let full = Array(UnsafeBufferPointer(start: model.logits, count: decoder.count * V))
        let inference = try T5Inference(model: model, capacity: decoder.count)
        try inference.start(source: source)
        for (t, id) in decoder.enumerated() {
            let step = Array(try inference.append(id))
            XCTAssertLessThanOrEqual(step.withUnsafeBufferPointer { relativeError($0.baseAddress!, Array(full[(t * V)..<((t + 1) * V)])) }, 1e-5, "position \(t)")
        }
    }
}
