import Foundation
import Model
import XCTest

/// Hugging Face T5 directories both ways: what `save_pretrained` wrote (Fixtures/t5-hf-*, the parity
/// models) imports with HF's weights and logits; an export imports back bit for bit; bad directories
/// are one line.
final class HuggingFaceT5Tests: XCTestCase {
    static func directory(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw ModelError("Fixtures/\(name) missing from the test bundle")
        }
        return url.path
    }

    func testImportsWhatHuggingFaceSaved() throws {
        for name in ["relu-tied", "gated-untied"] {
            let fx = try T5Tests.Fixture("t5-\(name)-parity")
            let dir = try Self.directory("t5-hf-\(name)")
            let config = try T5.huggingFaceConfig(directory: dir)
            XCTAssertEqual(config, fx.config, name)
            let model = try T5(config: config, maxBatch: fx.B, maxSource: fx.S, maxTarget: fx.T)
            try model.importHuggingFace(from: dir)
            let reference = try fx.makeModel()
            XCTAssertEqual(model.params.toArray(), reference.params.toArray(), "\(name): HF's float32 weights")
            try model.forward(source: fx.ids, sourceMask: fx.mask, decoderInput: fx.decoderInput, targets: nil, B: fx.B, S: fx.S, T: fx.T)
            XCTAssertLessThanOrEqual(relativeError(model.logits, try fx.file.floats("logits")), 1e-4, name)
        }
    }

    func testExportImportsBackBitForBit() throws {
        for name in ["relu-tied", "gated-untied"] {
            let fx = try T5Tests.Fixture("t5-\(name)-parity")
            let model = try fx.makeModel()
            let out = NSTemporaryDirectory() + "t5-export-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            try model.exportHuggingFace(to: out)
            XCTAssertEqual(try T5.huggingFaceConfig(directory: out), fx.config, name)
            let back = try T5(config: fx.config, maxBatch: 1, maxSource: 1, maxTarget: 1)
            try back.importHuggingFace(from: out)
            XCTAssertEqual(back.params.toArray().map(\.bitPattern), model.params.toArray().map(\.bitPattern), name)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
            XCTAssertEqual(json["scale_decoder_outputs"] as? Bool, fx.config.tieWordEmbeddings)
            XCTAssertEqual(json["decoder_start_token_id"] as? Int, 0)
        }
    }

    func testBadDirectoriesAreOneLine() throws {
        let out = NSTemporaryDirectory() + "t5-bad-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let model = try T5Tests.Fixture("t5-relu-tied-parity").makeModel()
        try model.exportHuggingFace(to: out)
        func edit(_ change: (inout [String: Any]) -> Void) throws {
            let path = out + "/config.json"
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            change(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        }
        try edit { $0["model_type"] = "bert" }
        XCTAssertThrowsError(try T5.huggingFaceConfig(directory: out)) { XCTAssertTrue("\($0)".contains("model_type is bert, not t5")) }
        try edit { $0["model_type"] = "t5"; $0["feed_forward_proj"] = "gated-silu" }
        XCTAssertThrowsError(try T5.huggingFaceConfig(directory: out)) { XCTAssertTrue("\($0)".contains("feed_forward_proj is gated-silu")) }
        try edit { $0["feed_forward_proj"] = "relu"; $0["scale_decoder_outputs"] = false; $0["tie_word_embeddings"] = false }
        XCTAssertThrowsError(try T5.huggingFaceConfig(directory: out)) { XCTAssertTrue("\($0)".contains("has no lm_head.weight"), "\($0)") }
        try edit { $0["scale_decoder_outputs"] = true; $0["decoder_start_token_id"] = 5 }
        XCTAssertThrowsError(try T5.huggingFaceConfig(directory: out)) { XCTAssertTrue("\($0)".contains("decoder_start_token_id 5 differs")) }
        try edit { $0["decoder_start_token_id"] = 0; $0["num_decoder_layers"] = 3 }
        let deeper = try T5(config: try T5.huggingFaceConfig(directory: out), maxBatch: 1, maxSource: 1, maxTarget: 1)
        XCTAssertThrowsError(try deeper.importHuggingFace(from: out)) { XCTAssertTrue("\($0)".contains("no tensor 'decoder.block.2."), "\($0)") }
    }
}
