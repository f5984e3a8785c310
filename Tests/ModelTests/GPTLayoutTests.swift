import Model
import XCTest

/// The flat-buffer table: contiguity, names and shapes against Hugging Face GPT-2.
final class GPTLayoutTests: XCTestCase {
    func testGPT2SmallHasTheKnownParameterCount() {
        // GPT-2 124M with the LM head tied: 124,439,808 parameters (as Hugging Face reports).
        XCTAssertEqual(GPTLayout(config: GPTConfig()).count, 124_439_808)
    }

    func testTensorsTileTheBufferInOrder() {
        let layout = GPTLayout(config: GPTConfig(vocabSize: 50, maxSeqLen: 9, nLayer: 3, nHead: 2, dModel: 6))
        var next = 0
        for t in layout.tensors {
            XCTAssertEqual(t.offset, next, t.name)
            next += t.count
        }
        XCTAssertEqual(next, layout.count)
        for l in 0..<3 {
            XCTAssertEqual(layout.blockRange(l).count, layout.blockCount)
            XCTAssertEqual(layout.offset(layer: l, .ln1Weight), layout.blockRange(l).lowerBound)
            XCTAssertEqual(layout.tensor(named: "transformer.h.\(l).mlp.c_proj.bias")!.range.upperBound, layout.blockRange(l).upperBound)
        }
    }

    func testNamesAndShapesMatchTheHuggingFaceFixture() throws {
        let fx = try ParityFixture()
        let layout = GPTLayout(config: fx.config)
        let fileParams = Set(fx.file.entries.keys.filter { $0.hasPrefix("transformer.") })
        XCTAssertEqual(Set(layout.tensors.map(\.name)), fileParams)
        for t in layout.tensors { XCTAssertEqual(t.shape, try fx.file.entry(t.name).shape, t.name) }
    }

    /// `score.weight` (K, C) exists only for a classifier (numLabels K > 0), right after ln_f at the end of
    /// the buffer, inside `headRange`; the rest of the table is the language model's, offset for offset.
    func testScoreHeadOnlyForClassifiers() {
        var config = GPTConfig(vocabSize: 50, maxSeqLen: 9, nLayer: 2, nHead: 2, dModel: 6)
        let lm = GPTLayout(config: config)
        XCTAssertNil(lm.score)
        XCTAssertNil(lm.tensor(named: "score.weight"))
        XCTAssertEqual(lm.headRange, lm.lnfWeight..<lm.count)
        config.numLabels = 4
        let classifier = GPTLayout(config: config)
        let score = try! XCTUnwrap(classifier.tensor(named: "score.weight"))
        XCTAssertEqual(score.shape, [4, 6])
        XCTAssertEqual(score.offset, classifier.score)
        XCTAssertEqual(score.offset, lm.count, "right after transformer.ln_f.bias")
        XCTAssertEqual(classifier.count, lm.count + 4 * 6)
        XCTAssertEqual(classifier.tensors.last?.name, "score.weight")
        XCTAssertEqual(Array(classifier.tensors.dropLast()), lm.tensors, "the body is the language model's")
        XCTAssertEqual(classifier.headRange, classifier.lnfWeight..<classifier.count)
        XCTAssertTrue(score.decay, "a matrix: weight decay applies, as to the other matrices")
    }

    func testWeightDecayOnlyOnMatrices() {
        let layout = GPTLayout(config: GPTConfig(vocabSize: 10, maxSeqLen: 4, nLayer: 1, nHead: 1, dModel: 4))
        let decayed = Set(layout.tensors.filter(\.decay).map(\.name))
        XCTAssertEqual(decayed, ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight",
                                 "transformer.h.0.attn.c_proj.weight", "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_proj.weight"])
    }

    func testOverlappingRangesAreClipped() {
        let layout = GPTLayout(config: GPTConfig(vocabSize: 10, maxSeqLen: 4, nLayer: 1, nHead: 1, dModel: 4))
        let parts = layout.tensors(overlapping: 35..<45)  // wte is 0..<40, wpe 40..<56
        XCTAssertEqual(parts.map(\.tensor.name), ["transformer.wte.weight", "transformer.wpe.weight"])
        XCTAssertEqual(parts.map(\.part), [35..<40, 40..<45])
    }
}
