import Foundation
import Model
import XCTest
import Support

/// Export writes GPT-2's names, shapes and config keys; importing an export gives back the exact
/// parameters; non-GPT-2 models and mismatched files are refused.
final class HuggingFaceGPT2Tests: XCTestCase {
    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "gpt2-hf-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func testExportHasGPT2NamesShapesAndConfigAndImportIsBitwise() throws {
        var model = GPTConfig(vocabSize: 50, maxSeqLen: 12, nLayer: 2, nHead: 2, dModel: 8)
        model.layerNormEps = 1e-5
        let layout = GPTLayout(config: model)
        let params = try FlatBuffer(count: layout.count)
        var rng = SplitMix64(seed: 3)
        for i in 0..<layout.count { params.pointer[i] = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xBFFF_FFFF) }
        let out = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let tokenizer = out + "/source-tokenizer.json"
        let tokenizerText = "{\"added_tokens\":[{\"id\":7,\"content\":\"<|endoftext|>\"}],\"model\":{}}"
        try tokenizerText.write(toFile: tokenizer, atomically: true, encoding: .utf8)
        let files = try HuggingFaceGPT2.export(params: UnsafeBufferPointer(params.buffer), model: model, tokenizer: tokenizer, to: out + "/hf")
        XCTAssertEqual(files, ["model.safetensors", "config.json", "tokenizer.json"])

        // Names and shapes as Hugging Face's GPT-2 (written out here, not taken from the layout).
        let st = try SafeTensors(path: out + "/hf/model.safetensors")
        var expected: [String: [Int]] = ["transformer.wte.weight": [50, 8], "transformer.wpe.weight": [12, 8],
                                         "transformer.ln_f.weight": [8], "transformer.ln_f.bias": [8]]
        for i in 0..<2 {
            let h = "transformer.h.\(i)."
            expected[h + "ln_1.weight"] = [8]; expected[h + "ln_1.bias"] = [8]
            expected[h + "attn.c_attn.weight"] = [8, 24]; expected[h + "attn.c_attn.bias"] = [24]
            expected[h + "attn.c_proj.weight"] = [8, 8]; expected[h + "attn.c_proj.bias"] = [8]
            expected[h + "ln_2.weight"] = [8]; expected[h + "ln_2.bias"] = [8]
            expected[h + "mlp.c_fc.weight"] = [8, 32]; expected[h + "mlp.c_fc.bias"] = [32]
            expected[h + "mlp.c_proj.weight"] = [32, 8]; expected[h + "mlp.c_proj.bias"] = [8]
        }
        XCTAssertEqual(Set(st.names), Set(expected.keys))
        for (name, shape) in expected {
            XCTAssertEqual(st.entries[name]?.shape, shape, name)
            XCTAssertEqual(st.entries[name]?.dtype, .f32, name)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/hf/config.json"))) as! [String: Any]
        XCTAssertEqual(config["model_type"] as? String, "gpt2")
        XCTAssertEqual(config["architectures"] as? [String], ["GPT2LMHeadModel"])
        for (key, value) in [("vocab_size", 50), ("n_positions", 12), ("n_embd", 8), ("n_layer", 2), ("n_head", 2)] {
            XCTAssertEqual(config[key] as? Int, value, key)
        }
        XCTAssertEqual(config["activation_function"] as? String, "gelu_new")
        XCTAssertEqual(config["eos_token_id"] as? Int, 7, "GPT-2's eos and bos are the tokenizer's <|endoftext|>")
        XCTAssertEqual(config["bos_token_id"] as? Int, 7)
        XCTAssertEqual(try String(contentsOfFile: out + "/hf/tokenizer.json", encoding: .utf8), tokenizerText)

        let (back, imported) = try HuggingFaceGPT2.load(directory: out + "/hf")
        XCTAssertEqual(back, model)
        XCTAssertEqual(imported.toArray().map(\.bitPattern), params.toArray().map(\.bitPattern))
    }

    func testNonGPT2ModelsAndMismatchedFilesAreRefused() throws {
        var model = GPTConfig(vocabSize: 50, maxSeqLen: 12, nLayer: 1, nHead: 2, dModel: 8)
        model.positions = .sinusoidal
        let params = try FlatBuffer(count: GPTLayout(config: model).count)
        XCTAssertThrowsError(try HuggingFaceGPT2.export(params: UnsafeBufferPointer(params.buffer), model: model, tokenizer: nil, to: "/tmp/never")) {
            XCTAssertTrue("\($0)".contains("learned positions"), "\($0)")
        }
        XCTAssertThrowsError(try HuggingFaceGPT2.load(directory: "/nonexistent")) { XCTAssertTrue("\($0)".contains("config.json"), "\($0)") }
        // config.json says 3 layers, the weights hold 2: the missing tensor is named.
        let out = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: out) }
        let two = GPTConfig(vocabSize: 50, maxSeqLen: 12, nLayer: 2, nHead: 2, dModel: 8)
        let p2 = try FlatBuffer(count: GPTLayout(config: two).count)
        try HuggingFaceGPT2.export(params: UnsafeBufferPointer(p2.buffer), model: two, tokenizer: nil, to: out)
        let text = try String(contentsOfFile: out + "/config.json", encoding: .utf8).replacingOccurrences(of: "\"n_layer\" : 2", with: "\"n_layer\" : 3")
        try text.write(toFile: out + "/config.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HuggingFaceGPT2.load(directory: out)) { XCTAssertTrue("\($0)".contains("transformer.h.2.ln_1.weight"), "\($0)") }
    }
}
