import Foundation
import Kernels
import Model
import XCTest
import Support

/// The GPT sequence classifier (GPT+Classifier.swift) against Hugging Face `GPT2ForSequenceClassification`
/// in PyTorch (logits, loss, every gradient), against finite differences, and its bad input.
final class GPTClassifierTests: XCTestCase {
    let bound = 1e-4

    /// Fixtures/gpt2-classify-parity.safetensors (make_gpt2_classify_parity.py) loaded into a model.
    struct Fixture {
        let file: SafeTensors
        let config: GPTConfig
        let B: Int, T: Int
        let ids: [Int32], lengths: [Int], labels: [Int32]

        init() throws {
            guard let url = Bundle.module.url(forResource: "gpt2-classify-parity", withExtension: "safetensors", subdirectory: "Fixtures") else {
                throw ModelError("Fixtures/gpt2-classify-parity.safetensors missing from the test bundle")
            }
            file = try SafeTensors(path: url.path)
            let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
            var c = GPTConfig(vocabSize: meta["vocab_size"] as! Int, maxSeqLen: meta["n_positions"] as! Int,
                              nLayer: meta["n_layer"] as! Int, nHead: meta["n_head"] as! Int, dModel: meta["n_embd"] as! Int)
            c.layerNormEps = Float(meta["layer_norm_epsilon"] as! Double)
            c.numLabels = meta["num_labels"] as! Int
            config = c
            B = meta["batch"] as! Int
            T = meta["seq"] as! Int
            ids = try file.int32s("input_ids")
            lengths = try file.int32s("lengths").map(Int.init)
            labels = try file.int32s("class_labels")
        }

        func makeModel() throws -> GPT {
            let model = try GPT(config: config, maxBatch: B, maxSeqLen: T)
            for t in model.layout.tensors { try file.read(t.name, into: model.params.pointer + t.offset, count: t.count) }
            return model
        }
    }

    func testClassifierMatchesHuggingFace() throws {
        for threads in [1, 2] {
            Parallel.setThreads(threads)
            let fx = try Fixture()
            XCTAssertEqual(Set(fx.file.names.filter { $0.hasPrefix("transformer.") || $0.hasPrefix("score.") }),
                           Set(GPTLayout(config: fx.config).tensors.map(\.name)), "the layout holds exactly HF's parameters")
            XCTAssertEqual(Set(fx.lengths).count, fx.B, "the fixture's sequences have different lengths (padding)")
            let model = try fx.makeModel()
            let K = fx.config.numLabels
            try model.forward(tokens: fx.ids, lengths: fx.lengths, labels: nil, B: fx.B, T: fx.T)
            let logits = try fx.file.floats("logits")
            XCTAssertEqual(logits.count, fx.B * K)
            XCTAssertLessThanOrEqual(relativeError(model.sequenceLogits, logits), bound, "class logits (threads \(threads))")

            let loss = try model.forward(tokens: fx.ids, lengths: fx.lengths, labels: fx.labels, B: fx.B, T: fx.T)
            let expected = try fx.file.floats("loss")[0]
            XCTAssertEqual(Double(loss), Double(expected), accuracy: Double(abs(expected)) * bound, "loss (threads \(threads))")
            XCTAssertLessThanOrEqual(relativeError(model.sequenceLogits, logits), bound, "the logits stay readable after a forward with labels")
            model.zeroGrad()
            var ready: [Range<Int>] = []
            model.backward { ready.append($0) }
            for t in model.layout.tensors {
                let err = relativeError(model.grads.pointer + t.offset, try fx.file.floats("grad." + t.name))
                XCTAssertLessThanOrEqual(err, bound, "gradient of \(t.name) (threads \(threads)): relative error \(err)")
            }
            XCTAssertEqual(ready.first, model.layout.headRange, "ln_f and the score head are reported first")
            XCTAssertTrue(ready.first!.contains(model.layout.score!), "the score tensor is in the head range")
            XCTAssertEqual(ready.map(\.count).reduce(0, +), model.layout.count, "every parameter reported once")
        }
        Parallel.setThreads(1)
    }

    /// A random classifier (every parameter random, dropout on) with sequences of lengths T, 3 and 1: the
    /// gradient of the loss w.r.t. sampled elements of score.weight, ln_f, a block weight and the used
    /// wte rows matches central differences; positions after every classified token get exactly zero
    /// gradient, and the tokens there do not change the logits.
    func testGradientsMatchFiniteDifferences() throws {
        var config = GPTConfig(vocabSize: 16, maxSeqLen: 8, nLayer: 2, nHead: 2, dModel: 8)
        config.numLabels = 3
        config.residualDropout = 0.1
        config.attentionDropout = 0.1
        let B = 3, T = 7
        let model = try GPT(config: config, maxBatch: B, maxSeqLen: T)
        var rng = SplitMix64(seed: 21)
        rng.fillNormal(model.params.pointer, count: model.layout.count, std: 0.3)
        for name in ["transformer.ln_f.weight", "transformer.h.0.ln_1.weight", "transformer.h.1.ln_2.weight"] {
            let t = model.layout.tensor(named: name)!
            for i in t.range { model.params.pointer[i] += 1 }
        }
        model.dropoutSeed = 99
        var x = (0..<(B * T)).map { _ in Int32(rng.next() % 16) }
        let lengths = [T, 3, 1], labels: [Int32] = [2, 0, 1]
        func loss() throws -> Double { Double(try model.forward(tokens: x, lengths: lengths, labels: labels, B: B, T: T)) }
        _ = try loss()
        model.zeroGrad()
        model.backward()
        let h: Float = 1e-2
        func check(_ name: String, _ elements: [Int]) throws {
            let t = model.layout.tensor(named: name)!
            for e in elements {
                let i = t.offset + e
                let analytic = Double(model.grads.pointer[i])
                let numeric = try centralDifference(model.params.pointer + i, h: h, loss)
                XCTAssertEqual(analytic, numeric, accuracy: 1e-3 + 0.02 * abs(numeric), "\(name)[\(e)]")
            }
        }
        try check("score.weight", Array(0..<24))
        try check("transformer.ln_f.weight", [0, 3, 7])
        try check("transformer.ln_f.bias", [1, 5])
        try check("transformer.h.0.attn.c_attn.weight", [0, 17, 100, 191])
        try check("transformer.h.1.mlp.c_fc.weight", [5, 77, 200])
        let used = Set(x[0..<T] + x[T..<(T + 3)] + [x[2 * T]])
        try check("transformer.wte.weight", used.prefix(3).flatMap { Int($0) * 8 ..< Int($0) * 8 + 2 })
        // Only positions up to T − 1 (sequence 0) are classified; nothing beyond a sequence's last token
        // feeds the loss: with a longer buffer the wpe rows ≥ T get no gradient.
        let wpe = model.layout.tensor(named: "transformer.wpe.weight")!
        XCTAssertTrue((T * 8..<(8 * 8)).allSatisfy { model.grads.pointer[wpe.offset + $0] == 0 }, "wpe rows past T")
        _ = try loss()
        let before = Array(UnsafeBufferPointer(start: model.sequenceLogits, count: B * 3))
        for b in 1..<B { for t in lengths[b]..<T { x[b * T + t] = Int32((t * 5 + b) % 16) } }
        _ = try loss()
        let after = Array(UnsafeBufferPointer(start: model.sequenceLogits, count: B * 3))
        for (a, c) in zip(before, after) { XCTAssertEqual(a, c, accuracy: 1e-6 * max(1, abs(a)), "tokens after a sequence's end do not change its logits") }
    }

    func testHeadMismatchesAndBadInputAreOneLineErrors() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        var config = GPTConfig(vocabSize: 16, maxSeqLen: 8, nLayer: 1, nHead: 1, dModel: 8)
        let lm = try GPT(config: config, maxBatch: 2, maxSeqLen: 4)
        let x: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8]
        XCTAssertTrue(message { try lm.forward(tokens: x, lengths: [4, 4], labels: nil, B: 2, T: 4) }.contains("language model (model.num_labels 0) with no classifier head"))
        config.numLabels = 3
        let classifier = try GPT(config: config, maxBatch: 2, maxSeqLen: 4)
        XCTAssertTrue(message { try classifier.forward(tokens: x, targets: x, B: 2, T: 4) }.contains("3-label classifier with no language-model head"))
        XCTAssertTrue(message { try classifier.forward(tokens: x, lengths: [4, 0], labels: nil, B: 2, T: 4) }.contains("sequence 1 has length 0; it must be in 1…4"))
        XCTAssertTrue(message { try classifier.forward(tokens: x, lengths: [5, 1], labels: nil, B: 2, T: 4) }.contains("sequence 0 has length 5"))
        XCTAssertTrue(message { try classifier.forward(tokens: x, lengths: [4, 2], labels: [0, 3], B: 2, T: 4) }.contains("label 3 of sequence 1 is outside 0..<3"))
        XCTAssertTrue(message { try classifier.forward(tokens: [1, 2, 3, 16, 1, 2, 3, 4], lengths: [4, 2], labels: nil, B: 2, T: 4) }.contains("token id 16"))
        XCTAssertEqual(message { try classifier.forward(tokens: x, lengths: [4, 2], labels: [0, -100], B: 2, T: 4) }, "", "ignoreIndex skips a sequence")
        config.numLabels = -1
        XCTAssertTrue(message { _ = try GPT(config: config, maxBatch: 1, maxSeqLen: 4) }.contains("model.num_labels is -1"))
    }
}
