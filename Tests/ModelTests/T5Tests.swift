import Foundation
import Kernels
import Model
import Support
import XCTest

/// T5 forward/backward against Hugging Face `T5ForConditionalGeneration` in PyTorch (ReLU with tied
/// embeddings, gated GELU untied with a deeper decoder; source padding and ignored targets), its
/// relative position buckets against HF's function, and dropout gradients against finite differences.
final class T5Tests: XCTestCase {
    let bound = 1e-4

    /// A fixture of make_t5_parity.py: the config, inputs and HF's outputs.
    struct Fixture {
        let file: SafeTensors
        let config: T5Config
        let B: Int, S: Int, T: Int
        let ids: [Int32], mask: [UInt8], labels: [Int32], decoderInput: [Int32]

        init(_ name: String) throws {
            file = try SafeTensors(path: try fixturePath(name))
            let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
            var c = T5Config()
            c.vocabSize = meta["vocab_size"] as! Int
            c.dModel = meta["d_model"] as! Int
            c.dKV = meta["d_kv"] as! Int
            c.dFF = meta["d_ff"] as! Int
            c.numHeads = meta["num_heads"] as! Int
            c.numLayers = meta["num_layers"] as! Int
            c.numDecoderLayers = meta["num_decoder_layers"] as! Int
            c.relativeAttentionNumBuckets = meta["relative_attention_num_buckets"] as! Int
            c.relativeAttentionMaxDistance = meta["relative_attention_max_distance"] as! Int
            c.feedForward = T5Config.FeedForward(rawValue: meta["feed_forward_proj"] as! String)!
            c.tieWordEmbeddings = meta["tie_word_embeddings"] as! Bool
            c.layerNormEps = Float(meta["layer_norm_epsilon"] as! Double)
            config = c
            B = meta["batch"] as! Int
            S = meta["source"] as! Int
            T = meta["target"] as! Int
            ids = try file.int32s("input_ids")
            mask = try file.int32s("attention_mask").map { UInt8($0) }
            labels = try file.int32s("labels")
            decoderInput = try file.int32s("decoder_input_ids")
        }

        func makeModel() throws -> T5 {
            let model = try T5(config: config, maxBatch: B, maxSource: S, maxTarget: T)
            for t in model.layout.tensors { try file.read(t.name, into: model.params.pointer + t.offset, count: t.count) }
            return model
        }
    }

    static func fixturePath(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw ModelError("Fixtures/\(name).safetensors missing from the test bundle")
        }
        return url.path
    }

    func testReLUTiedMatchesHuggingFace() throws { try assertParity("t5-relu-tied-parity") }

    func testGatedGELUUntiedMatchesHuggingFace() throws { try assertParity("t5-gated-untied-parity") }

    /// Logits, loss and every gradient at 1 and 2 threads; decoder inputs made by `shiftRight` equal HF's.
    private func assertParity(_ name: String) throws {
        for threads in [1, 2] {
            Parallel.setThreads(threads)
            defer { Parallel.setThreads(1) }
            let fx = try Fixture(name)
            XCTAssertEqual(Set(fx.file.names.filter { !$0.hasPrefix("grad.") && $0.contains(".weight") }),
                           Set(T5Layout(config: fx.config).tensors.map(\.name)), "the layout holds exactly HF's parameters")
            XCTAssertTrue(fx.mask.contains(0) && fx.labels.contains(-100), "the fixture exercises padding and ignored targets")
            let model = try fx.makeModel()
            var shifted = [Int32](repeating: 0, count: fx.B * fx.T)
            model.shiftRight(fx.labels, into: &shifted, B: fx.B, T: fx.T)
            XCTAssertEqual(shifted, fx.decoderInput, "shiftRight is HF's _shift_right")
            try model.forward(source: fx.ids, sourceMask: fx.mask, decoderInput: shifted, targets: nil, B: fx.B, S: fx.S, T: fx.T)
            let logits = try fx.file.floats("logits")
            XCTAssertLessThanOrEqual(relativeError(model.logits, logits), bound, "\(name) logits (threads \(threads))")
            let loss = try model.forward(source: fx.ids, sourceMask: fx.mask, decoderInput: shifted, targets: fx.labels,
                                         B: fx.B, S: fx.S, T: fx.T)
            model.zeroGrad()
            try assertLossAndGradients(fx.file, loss: loss, tensors: model.layout.tensors, count: model.layout.count, grads: model.grads.pointer,
                                       bound: bound, "\(name) (threads \(threads))") { model.backward(lossScale: 1, onReady: $0) }
        }
    }

    /// Deferring the token embedding (data-parallel overlap): the shared table is reported ready right
    /// after the head, holding only the tied head's product, and the rows handed back (decoder B·T,
    /// then encoder B·S) added with `Embedding.backward` give Hugging Face's gradient; the other
    /// tensors' gradients do not change at all.
    func testDeferredLookupRowsAddUpToHuggingFacesGradient() throws {
        for name in ["t5-relu-tied-parity", "t5-gated-untied-parity"] {
            let fx = try Fixture(name)
            let model = try fx.makeModel()
            var shifted = [Int32](repeating: 0, count: fx.B * fx.T)
            model.shiftRight(fx.labels, into: &shifted, B: fx.B, T: fx.T)
            func forward() throws {
                try model.forward(source: fx.ids, sourceMask: fx.mask, decoderInput: shifted, targets: fx.labels, B: fx.B, S: fx.S, T: fx.T)
                model.zeroGrad()
            }
            try forward()
            model.backward(lossScale: 1, onReady: nil)
            let whole = model.grads.toArray()
            try forward()
            var ready: [Range<Int>] = []
            let shared = model.layout.sharedRange
            var sharedAtReport: [Float] = []
            guard let rows = model.backward(lossScale: 1, onReady: { range in
                ready.append(range)
                if range == shared { sharedAtReport = Array(UnsafeBufferPointer(start: model.grads.pointer + shared.lowerBound, count: shared.count)) }
            }, deferringTokenEmbedding: true) else { return XCTFail("\(name): no rows handed back") }
            XCTAssertEqual(model.deferrableEmbeddingRange, shared)
            XCTAssertEqual(Array(ready.prefix(2)), [model.layout.headRange, shared], "\(name): the shared table is final right after the head")
            XCTAssertEqual(ready.map(\.count).reduce(0, +), model.layout.count, "\(name): every parameter reported once")
            XCTAssertEqual(rows.count, fx.B * (fx.T + fx.S))
            XCTAssertEqual(rows.width, fx.config.dModel)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: rows.tokens, count: rows.count)), shifted + fx.ids, "\(name): decoder then encoder tokens")
            if !fx.config.tieWordEmbeddings {
                XCTAssertTrue(sharedAtReport.allSatisfy { $0 == 0 }, "\(name): untied, only the lookups feed the table")
            }
            let deferred = model.grads.toArray()
            for i in 0..<model.layout.count where !shared.contains(i) {
                guard deferred[i] == whole[i] else { return XCTFail("\(name): gradient \(i) outside the table changed") }
            }
            Embedding.backward(dwte: model.grads.pointer + shared.lowerBound, dwpe: nil, dout: rows.rows, tokens: rows.tokens, B: 1, T: rows.count,
                               C: rows.width)
            let err = relativeError(model.grads.pointer + shared.lowerBound, try fx.file.floats("grad.shared.weight"))
            XCTAssertLessThanOrEqual(err, bound, "\(name): shared.weight gradient from the deferred rows, relative error \(err)")
        }
    }

    /// The buckets of every relative position −300…300, bidirectional and causal, for T5's defaults
    /// (32 buckets, distance 128) and the fixtures' (8, 16), equal HF's `_relative_position_bucket`.
    func testRelativePositionBucketsMatchHuggingFace() throws {
        let file = try SafeTensors(path: try Self.fixturePath("t5-buckets"))
        let relative = try file.int32s("relative_position")
        for (nb, md) in [(32, 128), (8, 16)] {
            for bidirectional in [true, false] {
                let expected = try file.int32s("\(bidirectional ? "bi" : "causal").\(nb).\(md)")
                let got = relative.map { Int32(RelativePositionBias.bucket(Int($0), bidirectional: bidirectional, numBuckets: nb, maxDistance: md)) }
                XCTAssertEqual(got, expected, "\(bidirectional ? "bidirectional" : "causal") \(nb) buckets, distance \(md)")
            }
        }
    }

    /// A bias block for queries starting at `queryStart` (a decoder step against its cache) is the
    /// matching rows of the full block, and backward scatters exactly what forward gathered.
    func testPositionBiasWithQueryOffsetIsRowsOfTheFullBlock() {
        let NH = 3, T = 7, nb = 8, md = 16
        let table = (0..<(nb * NH)).map { Float($0) * 0.25 - 2 }
        var full = [Float](repeating: 0, count: NH * T * T), rows = [Float](repeating: 0, count: NH * 2 * T)
        RelativePositionBias.forward(bias: &full, table: table, NH: NH, Tq: T, Tk: T, bidirectional: false, numBuckets: nb, maxDistance: md)
        RelativePositionBias.forward(bias: &rows, table: table, NH: NH, Tq: 2, Tk: T, queryStart: 4, bidirectional: false,
                                     numBuckets: nb, maxDistance: md)
        for h in 0..<NH {
            XCTAssertEqual(Array(rows[(h * 2 * T)..<((h + 1) * 2 * T)]), Array(full[((h * T + 4) * T)..<((h * T + 6) * T)]))
        }
        // <dtable, table> = <dbias, bias> for any dbias: backward is forward's adjoint.
        var rng = SplitMix64(seed: 3)
        let dbias = (0..<(NH * T * T)).map { _ in Float(rng.uniform() - 0.5) }
        var dtable = [Float](repeating: 0, count: nb * NH)
        RelativePositionBias.backward(dtable: &dtable, dbias: dbias, NH: NH, Tq: T, Tk: T, bidirectional: true, numBuckets: nb, maxDistance: md)
        RelativePositionBias.forward(bias: &full, table: table, NH: NH, Tq: T, Tk: T, bidirectional: true, numBuckets: nb, maxDistance: md)
        let lhs = zip(dtable, table).map { Double($0) * Double($1) }.reduce(0, +)
        let rhs = zip(dbias, full).map { Double($0) * Double($1) }.reduce(0, +)
        XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * abs(rhs))
    }

    /// With dropout on (embeddings, sublayers, attention probabilities, final norms), the gradient of the
    /// loss (masks fixed by the seed) matches central differences of the model itself, tied and untied.
    func testDropoutGradientsMatchFiniteDifferences() throws {
        for gated in [false, true] {
            var config = T5Config()
            config.vocabSize = 20; config.dModel = 8; config.dKV = 3; config.numHeads = 2; config.dFF = 12
            config.numLayers = 2; config.numDecoderLayers = 1
            config.relativeAttentionNumBuckets = 6; config.relativeAttentionMaxDistance = 8
            config.feedForward = gated ? .gatedGELU : .relu
            config.tieWordEmbeddings = !gated
            config.dropoutRate = 0.1
            let B = 2, S = 6, T = 5
            let model = try T5(config: config, maxBatch: B, maxSource: S, maxTarget: T)
            model.initializeWeights(seed: 5)
            // Every tensor gets samples (the position-bias tables included).
            try assertEncoderDecoderGradientsMatchFiniteDifferences(model, vocab: config.vocabSize, samples: 2, "gated \(gated): ") {
                model.shiftRight($0, into: $1, B: $2, T: $3)
            }
        }
    }

    func testBadIdsAreOneLineNamingTheValue() throws {
        var config = T5Config()
        config.vocabSize = 10; config.dModel = 8; config.dKV = 4; config.numHeads = 2; config.dFF = 8
        config.numLayers = 1; config.numDecoderLayers = 1
        let model = try T5(config: config, maxBatch: 1, maxSource: 2, maxTarget: 2)
        XCTAssertThrowsError(try model.forward(source: [1, 12], sourceMask: nil, decoderInput: [0, 1], targets: nil, B: 1, S: 2, T: 2)) {
            XCTAssertTrue("\($0)".contains("source token id 12"), "\($0)")
        }
        XCTAssertThrowsError(try model.forward(source: [1, 2], sourceMask: nil, decoderInput: [0, 1], targets: [3, 10], B: 1, S: 2, T: 2)) {
            XCTAssertTrue("\($0)".contains("target 10"), "\($0)")
        }
        config.dKV = 0
        XCTAssertThrowsError(try T5(config: config, maxBatch: 1, maxSource: 1, maxTarget: 1)) {
            XCTAssertEqual("\($0)", "model.d_kv is 0; it must be at least 1")
        }
    }
}
