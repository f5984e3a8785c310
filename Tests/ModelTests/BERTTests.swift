import Foundation
import Kernels
import Model
import XCTest
import Support

/// BERT forward/backward against Hugging Face `BertForMaskedLM` / `BertForPreTraining` in PyTorch and
/// against finite differences of a Double reference twin (post-LN and pre-LN, padding, segments, NSP).
final class BERTTests: XCTestCase {
    let bound = 1e-4

    /// The fixture's model: weights copied by name (HF names and layouts are the layout's own).
    struct Fixture {
        let file: SafeTensors
        let config: BERTConfig
        let B: Int, T: Int
        let ids: [Int32], types: [Int32], mask: [UInt8], labels: [Int32]

        init(_ name: String, nsp: Bool, numLabels: Int = 0) throws {
            guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
                throw ModelError("Fixtures/\(name).safetensors missing from the test bundle")
            }
            file = try SafeTensors(path: url.path)
            let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
            var c = BERTConfig(vocabSize: meta["vocab_size"] as! Int, maxSeqLen: meta["max_position_embeddings"] as! Int,
                               nLayer: meta["num_hidden_layers"] as! Int, nHead: meta["num_attention_heads"] as! Int,
                               dModel: meta["hidden_size"] as! Int)
            c.intermediateSize = meta["intermediate_size"] as! Int
            c.typeVocabSize = meta["type_vocab_size"] as! Int
            c.layerNormEps = Float(meta["layer_norm_eps"] as! Double)
            c.nsp = nsp
            c.numLabels = numLabels
            config = c
            B = meta["batch"] as! Int
            T = meta["seq"] as! Int
            ids = try file.int32s("input_ids")
            types = try file.int32s("token_type_ids")
            mask = try file.int32s("attention_mask").map { UInt8($0) }
            labels = try file.int32s("labels")
        }

        func makeModel() throws -> BERT {
            let model = try BERT(config: config, maxBatch: B, maxSeqLen: T)
            for t in model.layout.tensors { try file.read(t.name, into: model.params.pointer + t.offset, count: t.count) }
            return model
        }
    }

    func testMaskedLMMatchesHuggingFace() throws {
        for threads in [1, 2] {
            Parallel.setThreads(threads)
            let fx = try Fixture("bert-mlm-parity", nsp: false)
            XCTAssertEqual(Set(fx.file.names.filter { $0.hasPrefix("bert.") || $0.hasPrefix("cls.") }),
                           Set(BERTLayout(config: fx.config).tensors.map(\.name)), "the layout holds exactly HF's parameters")
            XCTAssertTrue(fx.mask.contains(0) && fx.types.contains(1), "the fixture exercises padding and segment B")
            let model = try fx.makeModel()
            try model.forward(tokens: fx.ids, segments: fx.types, attentionMask: fx.mask, targets: nil, B: fx.B, T: fx.T)
            XCTAssertEqual(model.headRows, fx.B * fx.T)
            let logits = try fx.file.floats("logits")
            XCTAssertLessThanOrEqual(relativeError(model.logits, logits), bound, "logits (threads \(threads))")

            let loss = try model.forward(tokens: fx.ids, segments: fx.types, attentionMask: fx.mask, targets: fx.labels, B: fx.B, T: fx.T)
            let expected = try fx.file.floats("loss")[0]
            XCTAssertEqual(Double(loss), Double(expected), accuracy: Double(abs(expected)) * bound, "loss (threads \(threads))")
            XCTAssertEqual(model.headRows, fx.labels.filter { $0 != -100 }.count, "the head runs on the masked rows only")
            model.zeroGrad()
            model.backward()
            try assertGradients(model, fx, "threads \(threads)")
        }
        Parallel.setThreads(1)
    }

    func testPretrainingWithNextSentenceMatchesHuggingFace() throws {
        let fx = try Fixture("bert-pretraining-parity", nsp: true)
        let model = try fx.makeModel()
        let nsp = try fx.file.int32s("next_sentence_label")
        try model.forward(tokens: fx.ids, segments: fx.types, attentionMask: fx.mask, targets: nil, B: fx.B, T: fx.T)
        XCTAssertLessThanOrEqual(relativeError(model.sequenceLogits, try fx.file.floats("seq_relationship_logits")), bound, "NSP logits")
        XCTAssertLessThanOrEqual(relativeError(model.logits, try fx.file.floats("logits")), bound, "MLM logits")
        let loss = try model.forward(tokens: fx.ids, segments: fx.types, attentionMask: fx.mask, targets: fx.labels,
                                     sequenceLabels: nsp, B: fx.B, T: fx.T)
        let expected = try fx.file.floats("loss")[0]
        XCTAssertEqual(Double(loss), Double(expected), accuracy: Double(abs(expected)) * bound, "MLM + NSP loss")
        XCTAssertEqual(Double(model.lastMLMLoss + model.lastSequenceLoss), Double(loss), accuracy: 1e-6)
        model.zeroGrad()
        var ready: [Range<Int>] = []
        model.backward { ready.append($0) }
        try assertGradients(model, fx, "pretraining")
        XCTAssertEqual(ready.first, model.layout.headRange, "the heads are reported first")
        XCTAssertEqual(ready.last, model.layout.embeddingRange, "the embeddings last")
        XCTAssertEqual(ready.map(\.count).reduce(0, +), model.layout.count, "every parameter reported once")
    }

    func testSequenceClassifierMatchesHuggingFace() throws {
        let fx = try Fixture("bert-classify-parity", nsp: false, numLabels: 3)
        XCTAssertEqual(Set(fx.file.names.filter { $0.hasPrefix("bert.") || $0.hasPrefix("classifier.") }),
                       Set(BERTLayout(config: fx.config).tensors.map(\.name)), "pooler + classifier replace the MLM head")
        let model = try fx.makeModel()
        try model.forward(tokens: fx.ids, segments: fx.types, attentionMask: fx.mask, targets: nil, B: fx.B, T: fx.T)
        XCTAssertLessThanOrEqual(relativeError(model.sequenceLogits, try fx.file.floats("logits")), bound, "class logits")
        let classes = try fx.file.int32s("class_labels")
        let loss = try model.forward(tokens: fx.ids, segments: fx.types, attentionMask: fx.mask, targets: nil,
                                     sequenceLabels: classes, B: fx.B, T: fx.T)
        let expected = try fx.file.floats("loss")[0]
        XCTAssertEqual(Double(loss), Double(expected), accuracy: Double(abs(expected)) * bound, "classification loss")
        model.zeroGrad()
        model.backward()
        try assertGradients(model, fx, "classifier")
        XCTAssertThrowsError(try model.forward(tokens: fx.ids, segments: nil, attentionMask: nil, targets: nil, sequenceLabels: [3, 0], B: 2, T: fx.T)) {
            XCTAssertTrue("\($0)".contains("label 3 of sequence 0 is outside 0..<3"), "\($0)")
        }
        XCTAssertThrowsError(try model.forward(tokens: fx.ids, segments: nil, attentionMask: nil, targets: fx.labels, B: 2, T: fx.T)) {
            XCTAssertTrue("\($0)".contains("classifier, which has no MLM head"), "\($0)")
        }
    }

    private func assertGradients(_ model: BERT, _ fx: Fixture, _ tag: String) throws {
        for t in model.layout.tensors {
            if t.name.hasSuffix("key.bias") {
                // Softmax ignores a shift of a whole score row, so this gradient is 0 (PyTorch: ~1e-17).
                let largest = (0..<t.count).map { abs(model.grads.pointer[t.offset + $0]) }.max()!
                XCTAssertLessThan(largest, 1e-5, "gradient of \(t.name) (\(tag)) is zero up to rounding")
                XCTAssertLessThan(try fx.file.floats("grad." + t.name).map(abs).max()!, 1e-10)
                continue
            }
            let err = relativeError(model.grads.pointer + t.offset, try fx.file.floats("grad." + t.name))
            XCTAssertLessThanOrEqual(err, bound, "gradient of \(t.name) (\(tag)): relative error \(err)")
        }
    }

    /// Every gradient of the Float model (post-LN and pre-LN with MLM + NSP, and a 3-way classifier; padding
    /// and both segments) against central differences of `BERTReference`'s Double loss; the losses agree too.
    func testGradientsMatchFiniteDifferencesOfDoubleReference() throws {
        for (norm, classes) in [(BERTConfig.Norm.post, 0), (.pre, 0), (.post, 3)] {
            var config = BERTConfig(vocabSize: 11, maxSeqLen: 6, nLayer: 2, nHead: 2, dModel: 8)
            config.intermediateSize = 12
            config.norm = norm
            config.nsp = classes == 0
            config.numLabels = classes
            config.layerNormEps = 1e-5
            let B = 2, T = 5
            let model = try BERT(config: config, maxBatch: B, maxSeqLen: T)
            var rng = SplitMix64(seed: 21)
            for t in model.layout.tensors {
                let p = model.params.pointer + t.offset
                if t.name.hasSuffix("LayerNorm.weight") {
                    rng.fillNormal(p, count: t.count, mean: 1, std: 0.2)
                } else {
                    rng.fillNormal(p, count: t.count, std: t.shape.count >= 2 ? 0.4 : 0.1)
                }
            }
            let ids: [Int32] = [1, 5, 7, 2, 9, 1, 4, 2, 0, 0]
            let types: [Int32] = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
            let mask: [UInt8] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
            let labels: [Int32] = classes > 0 ? [Int32](repeating: -100, count: 10) : [-100, 3, -100, -100, 10, -100, 6, -100, -100, -100]
            let nsp: [Int32] = classes > 0 ? [2, 0] : [1, 0]
            let loss = try model.forward(tokens: ids, segments: types, attentionMask: mask, targets: classes > 0 ? nil : labels,
                                         sequenceLabels: nsp, B: B, T: T)
            let tag = "\(norm)\(classes > 0 ? " classifier" : "")"
            model.zeroGrad()
            model.backward()
            var params = (0..<model.layout.count).map { Double(model.params.pointer[$0]) }
            let reference = BERTReference(config: config, layout: model.layout, tokens: ids, segments: types, mask: mask,
                                          targets: labels, sequenceLabels: nsp, B: B, T: T)
            XCTAssertEqual(Double(loss), reference.loss(params), accuracy: 1e-5 * abs(Double(loss)), "\(tag): loss")
            let h = 1e-5
            for t in model.layout.tensors {
                var numeric = [Double](repeating: 0, count: t.count)
                for i in 0..<t.count {
                    let k = t.offset + i, saved = params[k]
                    params[k] = saved + h
                    let up = reference.loss(params)
                    params[k] = saved - h
                    let down = reference.loss(params)
                    params[k] = saved
                    numeric[i] = (up - down) / (2 * h)
                }
                if t.name.hasSuffix("key.bias") {
                    // q·b_k shifts a whole row of scores, which softmax ignores: the gradient is exactly 0.
                    XCTAssertLessThan(numeric.map(abs).max()!, 1e-8, "\(tag): \(t.name)")
                    XCTAssertLessThan((0..<t.count).map { abs(model.grads.pointer[t.offset + $0]) }.max()!, 1e-5, "\(tag): \(t.name)")
                    continue
                }
                let err = relativeError(model.grads.pointer + t.offset, numeric.map { Float($0) })
                XCTAssertLessThanOrEqual(err, 1e-3, "\(tag): gradient of \(t.name): relative error \(err)")
                XCTAssertGreaterThan(numeric.map(abs).max()!, 1e-6, "\(tag): \(t.name) has a nonzero gradient")
            }
        }
    }

    /// With hidden and attention dropout on, the gradient of the loss (masks fixed by the seed) matches
    /// central differences of the model itself on sampled parameters: MLM + NSP, and a classifier
    /// (dropout on the pooled [CLS]).
    func testDropoutGradientsMatchFiniteDifferences() throws {
        for classes in [0, 3] {
            var config = BERTConfig(vocabSize: 16, maxSeqLen: 8, nLayer: 2, nHead: 2, dModel: 8)
            config.layerNormEps = 1e-5
            config.hiddenDropout = 0.1
            config.attentionDropout = 0.2
            config.nsp = classes == 0
            config.numLabels = classes
            let model = try BERT(config: config, maxBatch: 2, maxSeqLen: 8)
            model.initializeWeights(seed: 11)
            var rng = SplitMix64(seed: 9)
            for i in 0..<model.layout.count { model.params.pointer[i] += Float(rng.uniform() - 0.5) * 0.2 }
            model.dropoutSeed = 1234
            let x = (0..<16).map { _ in Int32(rng.next() % 16) }
            let y: [Int32]? = classes > 0 ? nil : (0..<16).map { $0 % 3 == 1 ? Int32(rng.next() % 16) : -100 }
            let labels: [Int32] = classes > 0 ? [2, 1] : [0, 1]
            let mask: [UInt8] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
            func loss() throws -> Double {
                try x.withUnsafeBufferPointer { a in
                    Double(try model.forward(tokens: a.baseAddress!, segments: nil, attentionMask: mask, targets: y, sequenceLabels: labels, B: 2, T: 8))
                }
            }
            try assertSeededDropout(loss, backward: { model.zeroGrad(); model.backward() }, setTraining: { model.training = $0 })
            let h: Float = 1e-2
            for _ in 0..<40 {
                let i = Int(rng.next() % UInt64(model.layout.count))
                let analytic = Double(model.grads.pointer[i])
                let saved = model.params.pointer[i]
                model.params.pointer[i] = saved + h
                let up = try loss()
                model.params.pointer[i] = saved - h
                let down = try loss()
                model.params.pointer[i] = saved
                let numeric = (up - down) / Double(2 * h)
                XCTAssertEqual(analytic, numeric, accuracy: 2e-3 + 0.02 * abs(numeric), "classes \(classes): parameter \(i)")
            }
        }
    }

    func testOverfitsOneMaskedBatch() throws {
        var config = BERTConfig(vocabSize: 32, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        config.layerNormEps = 1e-5
        let model = try BERT(config: config, maxBatch: 2, maxSeqLen: 16)
        model.initializeWeights(seed: 3)
        var rng = SplitMix64(seed: 4)
        let ids = (0..<32).map { _ in Int32(rng.next() % 32) }
        let labels = ids.enumerated().map { $0.offset % 4 == 1 ? $0.element : -100 }
        let masked = ids.enumerated().map { $0.offset % 4 == 1 ? Int32(0) : $0.element }
        var opt = Optimizer.Settings()
        opt.lr = 3e-3
        opt.weightDecay = 0
        let adam = try Optimizer(layout: model.layout, settings: opt)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            let loss = try model.forward(tokens: masked, segments: nil, attentionMask: nil, targets: labels, B: 2, T: 16)
            if step == 0 { first = loss }
            last = loss
            model.zeroGrad()
            model.backward()
            adam.step(params: model.params, grads: model.grads, lr: opt.lr)
        }
        XCTAssertEqual(Double(first), log(32), accuracy: 0.3, "starts near ln V")
        XCTAssertLessThan(last, 0.1 * first, "memorises the masked tokens")
    }

    func testBadInputIsOneLineNamingTheValue() throws {
        var config = BERTConfig(vocabSize: 16, maxSeqLen: 8, nLayer: 1, nHead: 2, dModel: 8)
        let model = try BERT(config: config, maxBatch: 1, maxSeqLen: 4)
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        let ids: [Int32] = [1, 2, 3, 4]
        XCTAssertTrue(message { try model.forward(tokens: [1, 2, 16, 3], segments: nil, attentionMask: nil, targets: nil, B: 1, T: 4) }.contains("token id 16"))
        XCTAssertTrue(message { try model.forward(tokens: ids, segments: [0, 2, 0, 0], attentionMask: nil, targets: nil, B: 1, T: 4) }.contains("segment id 2"))
        XCTAssertTrue(message { try model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: [-100, 99, -100, -100], B: 1, T: 4) }.contains("target 99"))
        XCTAssertTrue(message { try model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: nil, sequenceLabels: [1], B: 1, T: 4) }.contains("model.nsp"))
        config.nHead = 3
        XCTAssertTrue(message { _ = try BERT(config: config, maxBatch: 1, maxSeqLen: 4) }.contains("n_head 3"))
    }
}
