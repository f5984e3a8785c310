import Foundation
import Kernels
import Model
import Support
import XCTest

/// `model.arch: transformer` forward/backward against `torch.nn.Transformer` (with the shared
/// embedding scaled by √d_model, sinusoidal positions and the tied output projection; padding in source
/// and target; label smoothing 0.1), and with dropout on against finite differences.
final class TransformerModelTests: XCTestCase {
    let bound = 1e-4

    /// Fixtures/transformer-parity.safetensors (make_transformer_parity.py): config, inputs, PyTorch's outputs.
    struct Fixture {
        let file: SafeTensors
        let config: TransformerConfig
        let B: Int, S: Int, T: Int
        let source: [Int32], sourceMask: [UInt8], decoderInput: [Int32], targetMask: [UInt8], labels: [Int32]

        init() throws {
            guard let url = Bundle.module.url(forResource: "transformer-parity", withExtension: "safetensors", subdirectory: "Fixtures") else {
                throw ModelError("Fixtures/transformer-parity.safetensors missing from the test bundle")
            }
            file = try SafeTensors(path: url.path)
            let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
            var c = TransformerConfig()
            c.vocabSize = meta["vocab_size"] as! Int
            c.dModel = meta["d_model"] as! Int
            c.numHeads = meta["n_heads"] as! Int
            c.numEncoderLayers = meta["num_encoder_layers"] as! Int
            c.numDecoderLayers = meta["num_decoder_layers"] as! Int
            c.dimFeedforward = meta["dim_feedforward"] as! Int
            c.layerNormEps = Float(meta["layer_norm_eps"] as! Double)
            c.labelSmoothing = Float(meta["label_smoothing"] as! Double)
            c.eosTokenId = Int32(meta["eos"] as! Int)
            c.padTokenId = Int32(meta["pad"] as! Int)
            c.dropout = 0
            c.maxPositions = 16
            config = c
            B = meta["batch"] as! Int
            S = meta["source"] as! Int
            T = meta["target"] as! Int
            source = try file.int32s("source")
            sourceMask = try file.int32s("source_mask").map { UInt8($0) }
            decoderInput = try file.int32s("decoder_input")
            targetMask = try file.int32s("target_mask").map { UInt8($0) }
            labels = try file.int32s("labels")
        }

        func makeModel() throws -> TransformerModel {
            let model = try TransformerModel(config: config, maxBatch: B, maxSource: S, maxTarget: T)
            for t in model.layout.tensors { try file.read(t.name, into: model.params.pointer + t.offset, count: t.count) }
            return model
        }
    }

    /// Logits (at every real target position), loss and every gradient at 1 and 2 threads; the decoder
    /// inputs made by `shiftRight` equal the reference's.
    func testMatchesTorchTransformer() throws {
        for threads in [1, 2] {
            Parallel.setThreads(threads)
            defer { Parallel.setThreads(1) }
            let fx = try Fixture()
            XCTAssertEqual(Set(fx.file.names.filter { $0 == "embedding.weight" || $0.hasPrefix("transformer.") }),
                           Set(TransformerLayout(config: fx.config).tensors.map(\.name)), "the layout holds exactly the module's parameters")
            XCTAssertTrue(fx.sourceMask.contains(0) && fx.targetMask.contains(0) && fx.labels.contains(-100),
                          "the fixture exercises source and target padding")
            let model = try fx.makeModel()
            var shifted = [Int32](repeating: 0, count: fx.B * fx.T)
            model.shiftRight(fx.labels, into: &shifted, B: fx.B, T: fx.T)
            XCTAssertEqual(shifted, fx.decoderInput, "shiftRight starts with EOS and pads where targets are ignored")
            try model.forward(source: fx.source, sourceMask: fx.sourceMask, decoderInput: shifted, targets: nil, B: fx.B, S: fx.S, T: fx.T)
            // PyTorch masks the padded target keys, which only rows at padded positions can see.
            let V = fx.config.vocabSize, expected = try fx.file.floats("logits")
            var got: [Float] = [], want: [Float] = []
            for n in 0..<(fx.B * fx.T) where fx.targetMask[n] == 1 {
                got += Array(UnsafeBufferPointer(start: model.logits + n * V, count: V))
                want += expected[(n * V)..<((n + 1) * V)]
            }
            XCTAssertEqual(got.count, fx.targetMask.filter { $0 == 1 }.count * V)
            XCTAssertLessThanOrEqual(relativeError(got, want), bound, "logits (threads \(threads))")
            let loss = try model.forward(source: fx.source, sourceMask: fx.sourceMask, decoderInput: shifted, targets: fx.labels,
                                         B: fx.B, S: fx.S, T: fx.T)
            model.zeroGrad()
            try assertLossAndGradients(fx.file, loss: loss, tensors: model.layout.tensors, count: model.layout.count, grads: model.grads.pointer,
                                       bound: bound, "threads \(threads)") { model.backward(lossScale: 1, onReady: $0) }
        }
    }

    /// With dropout on (embedding sums, sublayer outputs, attention probabilities and the feed-forward
    /// activation, the block's new piece), the gradient of the loss (masks fixed by the seed) matches
    /// central differences of the model itself.
    func testDropoutGradientsMatchFiniteDifferences() throws {
        var config = TransformerConfig()
        config.vocabSize = 17; config.dModel = 8; config.numHeads = 2; config.dimFeedforward = 12
        config.numEncoderLayers = 2; config.numDecoderLayers = 1; config.maxPositions = 8
        config.dropout = 0.2; config.padTokenId = 0; config.eosTokenId = 1
        let B = 2, S = 6, T = 5
        let model = try TransformerModel(config: config, maxBatch: B, maxSource: S, maxTarget: T)
        model.initializeWeights(seed: 5)
        for t in model.layout.tensors where t.shape.count == 1 {   // nonzero biases and norms, so their gradients matter
            var rng = SplitMix64(seed: UInt64(t.offset))
            for i in 0..<t.count { model.params.pointer[t.offset + i] += Float(rng.uniform() - 0.5) * 0.4 }
        }
        try assertEncoderDecoderGradientsMatchFiniteDifferences(model, vocab: config.vocabSize, samples: 3, "") {
            model.shiftRight($0, into: $1, B: $2, T: $3)
        }
    }

    /// Bad shapes and ids are one line naming the key or the value.
    func testBadInputIsOneLine() throws {
        var config = TransformerConfig()
        config.vocabSize = 10; config.dModel = 8; config.numHeads = 3; config.dimFeedforward = 8
        XCTAssertThrowsError(try TransformerModel(config: config, maxBatch: 1, maxSource: 2, maxTarget: 2)) {
            XCTAssertEqual("\($0)", "model.d_model 8 is not divisible by model.n_head 3; pick a head count that divides it")
        }
        config.numHeads = 2; config.maxPositions = 4
        XCTAssertThrowsError(try TransformerModel(config: config, maxBatch: 1, maxSource: 5, maxTarget: 2)) {
            XCTAssertTrue("\($0)".contains("exceed the 4 positions of model.max_seq_len"), "\($0)")
        }
        config.numEncoderLayers = 1; config.numDecoderLayers = 1
        let model = try TransformerModel(config: config, maxBatch: 1, maxSource: 2, maxTarget: 2)
        XCTAssertThrowsError(try model.forward(source: [1, 12], sourceMask: nil, decoderInput: [1, 2], targets: nil, B: 1, S: 2, T: 2)) {
            XCTAssertTrue("\($0)".contains("source token id 12"), "\($0)")
        }
    }

    /// `checkpoint export` of a Transformer is a PyTorch state_dict in safetensors: exactly the fixture's
    /// tensors (PyTorch's `named_parameters` of make_transformer_parity.py's module) under their names
    /// and shapes, bitwise, and config.json holds nn.Transformer's arguments. check_transformer_export.py
    /// loads such an export with `load_state_dict(strict=True)` and compares logits (result in its
    /// header; set TRANSFORMER_EXPORT_DIR to keep this test's export for it).
    func testExportIsATorchStateDict() throws {
        let f = try Fixture(), model = try f.makeModel()
        let keep = ProcessInfo.processInfo.environment["TRANSFORMER_EXPORT_DIR"]
        let dir = keep ?? NSTemporaryDirectory() + "transformer-export-\(UUID().uuidString.prefix(8))"
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: dir) } }
        try model.exportTorch(to: dir)
        let out = try SafeTensors(path: dir + "/model.safetensors")
        let inputs: Set = ["source", "source_mask", "decoder_input", "target_mask", "labels", "logits", "loss"]
        let parameters = Set(f.file.entries.keys.filter { !$0.hasPrefix("grad.") && !inputs.contains($0) })
        XCTAssertEqual(Set(out.entries.keys), parameters)
        for name in parameters {
            XCTAssertEqual(out.entries[name]?.shape, f.file.entries[name]!.shape, name)
            XCTAssertEqual(try out.floats(name).map(\.bitPattern), try f.file.floats(name).map(\.bitPattern), name)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        XCTAssertEqual(config["architecture"] as? String, "torch.nn.Transformer")
        XCTAssertEqual(config["d_model"] as? Int, f.config.dModel)
        XCTAssertEqual(config["nhead"] as? Int, f.config.numHeads)
        XCTAssertEqual(config["dim_feedforward"] as? Int, f.config.dimFeedforward)
        XCTAssertEqual(config["num_decoder_layers"] as? Int, f.config.numDecoderLayers)
    }
}
