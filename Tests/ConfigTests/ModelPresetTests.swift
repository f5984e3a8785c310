import Config
import Foundation
import XCTest

/// `model.preset`: the named sizes, their parameter counts, and how they meet explicit keys.
final class ModelPresetTests: XCTestCase {
    func load(_ yaml: String, _ overrides: [String] = []) throws -> RunConfig {
        let file = NSTemporaryDirectory() + "preset-\(UUID().uuidString).yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try ConfigLoader.load(path: file, overrides: overrides)
    }

    func shape(_ c: RunConfig) -> [Int] { [c.model.vocabSize, c.model.maxSeqLen, c.model.nLayer, c.model.nHead, c.model.dModel] }

    func testParameterCounts() {
        // GPT-2 small as Hugging Face counts it (GPT2LMHeadModel, tied head); the others by the same
        // formula: V·C + P·C + L·(12·C² + 13·C) + 2·C.
        func formula(_ v: Int, _ p: Int, _ l: Int, _ c: Int) -> Int { v * c + p * c + l * (12 * c * c + 13 * c) + 2 * c }
        XCTAssertEqual(ModelPreset.gpt2.gptParameters, 124_439_808)
        XCTAssertEqual(ModelPreset.small.gptParameters, formula(8192, 256, 6, 384))
        XCTAssertEqual(ModelPreset.tiny.gptParameters, formula(2048, 128, 4, 128))
        XCTAssertEqual(ModelPreset.allCases.filter { $0 != .none }.map(\.summary),
                       ["tiny (1.1M parameters)", "small (13.9M parameters)", "gpt2 (124M parameters)"])
    }

    func testAPresetFillsTheShapeKeysTheFileLeavesOut() throws {
        XCTAssertEqual(shape(try load("model:\n  preset: small\n")), [8192, 256, 6, 6, 384])
        // A key beside the preset wins, before or after it.
        XCTAssertEqual(shape(try load("model:\n  n_layer: 2\n  preset: gpt2\n")), [50257, 1024, 2, 12, 768])
        XCTAssertEqual(shape(try load("model:\n  preset: gpt2\n  n_layer: 2\n")), [50257, 1024, 2, 12, 768])
        // --set model.preset replaces all five; a later --set changes one.
        XCTAssertEqual(shape(try load("model:\n  n_layer: 2\n", ["model.preset=small", "model.d_model=192"])), [8192, 256, 6, 6, 192])
        XCTAssertEqual(try load("model:\n  preset: tiny\n").modelPreset, .tiny)
    }

    /// An Accelerate config has no model section: that is the tiny shape, a run of minutes, not GPT-2.
    func testNoModelSectionIsTheTinyShape() throws {
        let c = try load("compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_CPU\nnum_processes: 2\nuse_cpu: true\n")
        XCTAssertEqual(shape(c), [2048, 128, 4, 4, 128])
        XCTAssertEqual(c.modelPreset, ModelPreset.none)
        // The resolved config round-trips: every shape key is written, so the preset adds nothing.
        XCTAssertEqual(try load(ConfigLoader.render(try load("model:\n  preset: small\n  n_layer: 3\n"))).model.nLayer, 3)
    }
}
