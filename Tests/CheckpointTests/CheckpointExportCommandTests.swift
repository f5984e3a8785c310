import Checkpoint
import Config
import Foundation
import Model
import TestSupport
import XCTest

/// `pretrain checkpoint export` of a BERT checkpoint writes Hugging Face BERT: every tensor under its
/// BERT name with the checkpoint's values bitwise, a `bert` config.json, and an export that BERT's own
/// importer reads back to the same parameters.
final class CheckpointExportCommandTests: XCTestCase {
    func testBERTCheckpointExportsAsHuggingFaceBERT() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("bert-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = RunConfig()
        config.family.arch = "bert"
        config.model = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        let model = try BERT(config: config.bertConfig, maxBatch: 1, maxSeqLen: 16)
        model.initializeWeights(seed: 5)
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(config)
        try LocalCheckpoint.save(root: dir + "/ckpt", step: 7, layout: model.layout, params: model.params, m: nil, v: nil, options: options)

        let export = try ProcessRunner.pretrain(["checkpoint", "export", dir + "/ckpt", "--out", dir + "/hf"])
        XCTAssertEqual(export.status, 0, export.output)
        let st = try SafeTensors(path: dir + "/hf/model.safetensors")
        XCTAssertEqual(Set(st.entries.keys), Set(model.layout.tensors.map(\.name)))
        for t in model.layout.tensors {
            XCTAssertEqual(st.entries[t.name]?.shape, t.shape, t.name)
            let values = try st.floats(t.name)
            XCTAssertEqual(values.map(\.bitPattern), Array(model.params.buffer[t.range]).map(\.bitPattern), t.name)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/hf/config.json"))) as? [String: Any]
        XCTAssertEqual(json?["model_type"] as? String, "bert")
        XCTAssertEqual(json?["hidden_size"] as? Int, 32)

        let back = try BERT(config: config.bertConfig, maxBatch: 1, maxSeqLen: 16)
        try back.importHuggingFace(from: dir + "/hf")
        XCTAssertEqual(back.params.toArray().map(\.bitPattern), model.params.toArray().map(\.bitPattern))
    }
}
