import Checkpoint
import Config
import Foundation
import Model
import TestSupport
import XCTest

/// `pretrain checkpoint export` of a BERT checkpoint writes Hugging Face BERT: every tensor under its
/// BERT name with the checkpoint's values bitwise, a `bert` config.json, and an export that BERT's own
/// importer reads back to the same parameters. A fine-tuned GPT classifier is written as
/// GPT2ForSequenceClassification, its score head included.
final class CheckpointExportCommandTests: XCTestCase {
    func testBERTCheckpointExportsAsHuggingFaceBERT() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("bert-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = RunConfig()
        config.family.arch = .bert
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

    func testGPTClassifierExportsAsGPT2ForSequenceClassification() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("gpt-classifier-export")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = RunConfig()
        config.model = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        config.family.numLabels = 3
        config.family.labelNames = "computers,love,food"
        let model = try GPT(config: config.gptConfig, maxBatch: 1, maxSeqLen: 16)
        model.initializeWeights(seed: 5)
        try "{\"added_tokens\":[{\"id\":63,\"content\":\"<|endoftext|>\"}],\"model\":{}}".write(toFile: dir + "/tokenizer.json", atomically: true, encoding: .utf8)
        var options = LocalCheckpoint.Options()
        options.config = ConfigLoader.render(config)
        options.tokenizer = dir + "/tokenizer.json"
        try LocalCheckpoint.save(root: dir + "/ckpt", step: 7, layout: model.layout, params: model.params, m: nil, v: nil, options: options)

        let export = try ProcessRunner.pretrain(["checkpoint", "export", dir + "/ckpt", "--out", dir + "/hf"])
        XCTAssertEqual(export.status, 0, export.output)
        XCTAssertTrue(export.output.contains("as GPT2ForSequenceClassification (3 labels)"), export.output)
        let st = try SafeTensors(path: dir + "/hf/model.safetensors")
        XCTAssertEqual(Set(st.entries.keys), Set(model.layout.tensors.map(\.name)))
        XCTAssertEqual(st.entries["score.weight"]?.shape, [3, 32], "the head is written, (num_labels, n_embd) as HF's score")
        for t in model.layout.tensors {
            XCTAssertEqual(try st.floats(t.name).map(\.bitPattern), Array(model.params.buffer[t.range]).map(\.bitPattern), t.name)
        }
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/hf/config.json"))) as? [String: Any])
        XCTAssertEqual(json["architectures"] as? [String], ["GPT2ForSequenceClassification"])
        XCTAssertEqual(json["num_labels"] as? Int, 3)
        XCTAssertEqual(json["id2label"] as? [String: String], ["0": "computers", "1": "love", "2": "food"])
        XCTAssertEqual(json["label2id"] as? [String: Int], ["computers": 0, "love": 1, "food": 2])
        XCTAssertEqual(json["pad_token_id"] as? Int, 63, "padding is <|endoftext|>, as GPT-2 classifiers are usually set up")
        // The language model's own export has none of it.
        config.family.numLabels = 0
        let lm = try HuggingFaceGPT2.configJSON(config.gptConfig)
        XCTAssertEqual(lm["architectures"] as? [String], ["GPT2LMHeadModel"])
        XCTAssertNil(lm["num_labels"])
    }
}
