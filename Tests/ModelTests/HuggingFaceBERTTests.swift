import Foundation
import Model
import XCTest

/// HuggingFaceBERT.swift: export writes the HF parameter set and config, import reads it back
/// bitwise, and configs or weights that do not fit are one-line errors.
final class HuggingFaceBERTTests: XCTestCase {
    func temporaryDirectory() -> String { NSTemporaryDirectory() + "bert-hf-\(UUID().uuidString)" }

    func testExportHoldsHuggingFaceTensorsAndImportsBackBitwise() throws {
        for (name, nsp, classes) in [("bert-mlm-parity", false, 0), ("bert-pretraining-parity", true, 0), ("bert-classify-parity", false, 3)] {
            let fx = try BERTTests.Fixture(name, nsp: nsp, numLabels: classes)
            let model = try fx.makeModel()
            let dir = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try model.exportHuggingFace(to: dir)
            let written = try SafeTensors(path: dir + "/model.safetensors")
            let expected = fx.file.names.filter { $0.hasPrefix("bert.") || $0.hasPrefix("cls.") || $0.hasPrefix("classifier.") }
            XCTAssertEqual(Set(written.names), Set(expected), "\(name): exactly the parameters transformers saved")
            for tensor in expected {
                XCTAssertEqual(try written.entry(tensor).shape, try fx.file.entry(tensor).shape, "\(name): shape of \(tensor)")
                XCTAssertEqual(try written.floats(tensor), try fx.file.floats(tensor), "\(name): values of \(tensor)")
            }
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
            XCTAssertEqual(json["architectures"] as? [String], [classes > 0 ? "BertForSequenceClassification" : nsp ? "BertForPreTraining" : "BertForMaskedLM"])
            XCTAssertEqual(json["intermediate_size"] as? Int, fx.config.intermediateSize)
            XCTAssertEqual(json["hidden_act"] as? String, "gelu")

            let config = try BERT.huggingFaceConfig(directory: dir)
            XCTAssertEqual(config, fx.config, "\(name): the config round-trips, NSP detected from the weights")
            let back = try BERT(config: config, maxBatch: fx.B, maxSeqLen: fx.T)
            try back.importHuggingFace(from: dir)
            XCTAssertEqual(back.params.toArray(), model.params.toArray(), "\(name): imported bitwise")
        }
    }

    /// A classifier started from a pretrained (MLM) export: the encoder is loaded, the pooler and the
    /// classifier stay as initialised, the MLM head of the file is ignored; an encoder that does not fit
    /// is a one-line error.
    func testFineTuningStartLoadsTheBodyAndKeepsTheNewHead() throws {
        let fx = try BERTTests.Fixture("bert-mlm-parity", nsp: false)
        let pretrained = try fx.makeModel()
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try pretrained.exportHuggingFace(to: dir)
        var config = fx.config
        config.numLabels = 4
        let classifier = try BERT(config: config, maxBatch: fx.B, maxSeqLen: fx.T)
        classifier.initializeWeights(seed: 9)
        let initial = classifier.params.toArray()
        let fresh = try classifier.importBody(fromHuggingFace: dir)
        XCTAssertEqual(fresh, ["bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"])
        XCTAssertEqual(classifier.layout.tensor(named: "classifier.weight")?.shape, [4, fx.config.dModel])
        XCTAssertNil(classifier.layout.tensor(named: "cls.predictions.bias"), "the MLM head is gone")
        for t in classifier.layout.tensors {
            let values = Array(classifier.params.buffer[t.range])
            if fresh.contains(t.name) {
                XCTAssertEqual(values, Array(initial[t.range]), "\(t.name) keeps its fresh initialisation")
            } else {
                XCTAssertEqual(values, try fx.file.floats(t.name), "\(t.name) is the pretrained tensor")
            }
        }
        var pre = config
        pre.norm = .pre
        XCTAssertThrowsError(try BERT(config: pre, maxBatch: 1, maxSeqLen: 4).importBody(fromHuggingFace: dir)) {
            XCTAssertTrue("\($0)".contains("no tensor 'bert.encoder.LayerNorm.weight'"), "\($0)")
        }
    }

    func testMisfitsAreOneLineErrors() throws {
        let fx = try BERTTests.Fixture("bert-mlm-parity", nsp: false)
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try fx.makeModel().exportHuggingFace(to: dir)
        var withNSP = fx.config
        withNSP.nsp = true
        XCTAssertThrowsError(try BERT(config: withNSP, maxBatch: 1, maxSeqLen: 4).importHuggingFace(from: dir)) {
            XCTAssertTrue("\($0)".contains("no tensor 'bert.pooler.dense.weight'"), "\($0)")
        }
        var pre = fx.config
        pre.norm = .pre
        XCTAssertThrowsError(try BERT(config: pre, maxBatch: 1, maxSeqLen: 4).exportHuggingFace(to: dir)) {
            XCTAssertTrue("\($0)".contains("model.norm pre has no Hugging Face BERT counterpart"), "\($0)")
        }
        var wider = fx.config
        wider.intermediateSize += 1
        XCTAssertThrowsError(try BERT(config: wider, maxBatch: 1, maxSeqLen: 4).importHuggingFace(from: dir)) {
            XCTAssertTrue("\($0)".contains("intermediate.dense.weight' has shape"), "\($0)")
        }
        XCTAssertThrowsError(try BERT.huggingFaceConfig(directory: dir + "/nothing")) {
            XCTAssertTrue("\($0)".contains("nothing/config.json: missing"), "\($0)")
        }
    }
}
