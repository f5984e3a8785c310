import DataPipeline
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// Hugging Face BERT in every form a user has (`BertModel` as sentence-transformers saves it,
/// `BertForMaskedLM`, `BertForPreTraining`, `BertForSequenceClassification`, the older `0_Transformer/`
/// layout) imports and computes what transformers and sentence-transformers computed on the same
/// weights (Fixtures/hf-bert, made by make_hf_bert_fixtures.py); then predict, finetune and continued
/// masked-LM training work from the import.
final class HuggingFaceBERTImportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/hf-bert").path

    /// expected.json: texts, ids and each directory's outputs.
    struct Expected {
        let json: [String: Any]
        init() throws {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: HuggingFaceBERTImportTests.fixtures + "/expected.json"))) as! [String: Any]
        }
        var texts: [String] { json["texts"] as! [String] }
        var ids: [[Int32]] { (json["ids"] as! [[Int]]).map { $0.map(Int32.init) } }
        /// Output `key` of `directory` for text `i`, flattened.
        func values(_ directory: String, _ key: String, _ i: Int) -> [Float] {
            let all = (json[directory] as! [String: Any])[key] as! [Any]
            if let rows = all[i] as? [[Double]] { return rows.flatMap { $0.map(Float.init) } }
            return (all[i] as! [Double]).map(Float.init)
        }
    }

    private func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "hf-bert-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// Imports `source` with `pretrain checkpoint import` into `out`; returns the step-0 directory and the output.
    private func importCheckpoint(_ source: String, _ out: String) throws -> (String, String) {
        let run = try ProcessRunner.pretrain(["checkpoint", "import", source, "--out", out])
        XCTAssertEqual(run.status, 0, run.output)
        return (out + "/step-00000000", run.output)
    }

    /// max |ours − theirs| ≤ 1e-4 · max |theirs|.
    private func assertClose(_ ours: [Float], _ theirs: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, theirs.count, what, file: file, line: line)
        let scale = theirs.map { abs($0) }.max() ?? 1
        let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(what): max difference \(worst) against max |HF| \(scale)", file: file, line: line)
    }

    func testEveryFormImportsAndComputesWhatHuggingFaceDoes() throws {
        let expected = try Expected(), dir = try temporaryDirectory()
        for name in ["bert-model", "bert-mlm", "bert-pretraining", "bert-classify"] {
            let (step0, output) = try importCheckpoint(Self.fixtures + "/" + name, dir + "/" + name)
            let checkpoint = try ModelCheckpoint.open(step0)
            let (tokenizer, specials) = try checkpoint.bertTokenizer()
            for (i, text) in expected.texts.enumerated() {
                let ids = expected.ids[i]
                XCTAssertEqual([specials.cls] + tokenizer.encode(text, addSpecialTokens: false) + [specials.sep], ids, "\(name): HF's ids of \(text)")
                let model = try checkpoint.bert(batch: 1, seqLen: ids.count)
                try model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: nil, B: 1, T: ids.count)
                let T = ids.count, C = model.config.dModel, V = model.config.vocabSize, K = model.config.sequenceLabels
                switch name {
                case "bert-model":
                    assertClose(Array(UnsafeBufferPointer(start: model.lastHiddenState, count: T * C)), expected.values(name, "last_hidden_state", i), "\(name) text \(i)")
                case "bert-classify":
                    assertClose(Array(UnsafeBufferPointer(start: model.sequenceLogits, count: K)), expected.values(name, "logits", i), "\(name) text \(i)")
                default:
                    assertClose(Array(UnsafeBufferPointer(start: model.logits, count: T * V)), expected.values(name, "logits", i), "\(name) text \(i)")
                }
                if name == "bert-pretraining" {
                    assertClose(Array(UnsafeBufferPointer(start: model.sequenceLogits, count: 2)), expected.values(name, "seq_relationship_logits", i), "NSP text \(i)")
                }
            }
            switch name {
            case "bert-model":
                XCTAssertTrue(output.contains("BertModel"), output)
                XCTAssertTrue(output.contains("initialised fresh (not in \(Self.fixtures)/bert-model): cls.predictions.transform.dense.weight"), output)
                XCTAssertTrue(output.contains("not used (no place in the model): pooler.dense.bias, pooler.dense.weight"), output)
            case "bert-classify":
                XCTAssertEqual(checkpoint.config.family.labelNames, "negative,neutral,positive", "id2label becomes the label names")
                XCTAssertFalse(output.contains("initialised fresh"), output)
            default:
                XCTAssertFalse(output.contains("initialised fresh") || output.contains("not used"), output)
            }
        }
    }

    /// Feature extraction matches sentence-transformers' mean pooling (and its normalized output) and HF's
    /// last hidden state; the older `0_Transformer/` layout imports the same model.
    func testFeatureExtractionEqualsSentenceTransformers() throws {
        let expected = try Expected(), dir = try temporaryDirectory()
        let (root, _) = try importCheckpoint(Self.fixtures + "/bert-model", dir + "/root")
        // The sentence-transformers 2.x layout: the model in 0_Transformer/, modules.json naming it.
        let old = dir + "/st-old"
        try FileManager.default.createDirectory(atPath: old + "/0_Transformer", withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/bert-model/" + file, toPath: old + "/0_Transformer/" + file)
        }
        try FileManager.default.copyItem(atPath: Self.fixtures + "/bert-model/1_Pooling", toPath: old + "/1_Pooling")
        try #"[{"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"}, {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]"#
            .write(toFile: old + "/modules.json", atomically: true, encoding: .utf8)
        let (fromOld, _) = try importCheckpoint(old, dir + "/old")

        let inputs = dir + "/texts.jsonl"
        try expected.texts.map { String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self) }.joined(separator: "\n")
            .write(toFile: inputs, atomically: true, encoding: .utf8)
        for (checkpoint, normalize) in [(root, false), (root, true), (fromOld, false)] {
            let run = try ProcessRunner.pretrain(["predict", "--task", "feature-extraction", "--checkpoint", checkpoint, "--pooling", "mean",
                                                  "--input-file", inputs, "--threads", "1"] + (normalize ? ["--normalize"] : []))
            XCTAssertEqual(run.status, 0, run.output)
            XCTAssertEqual(run.lines.count, expected.texts.count, run.output)
            for (i, line) in run.lines.enumerated() {
                let ours = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [Double]).map(Float.init)
                assertClose(ours, expected.values("bert-model", normalize ? "mean_normalized" : "mean", i), "mean pooling text \(i)")
            }
        }
        let run = try ProcessRunner.pretrain(["predict", "--task", "feature-extraction", "--checkpoint", root, "--input", expected.texts[1], "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let hidden = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as! [[Double]]
        XCTAssertEqual(hidden.count, expected.ids[1].count, "one vector per token, [CLS] and [SEP] included")
        assertClose(hidden.flatMap { $0.map(Float.init) }, expected.values("bert-model", "last_hidden_state", 1), "last hidden state")
    }

    /// predict (fill-mask, classify with id2label), finetune and continued MLM training from imports; an HF
    /// directory given as a checkpoint and an unsupported architecture are one line each.
    func testPredictFinetuneAndTrainFromImports() throws {
        let expected = try Expected(), dir = try temporaryDirectory()
        let hint = try ProcessRunner.pretrain(["finetune", "--checkpoint", Self.fixtures + "/bert-model", "--data", "x.jsonl", "--labels", "2", "--out", dir + "/x"])
        XCTAssertEqual(hint.lines.count, 1, hint.output)
        XCTAssertTrue(hint.output.contains("is a Hugging Face model directory (config.json, no manifest.json), not a pretrain checkpoint; import it first: pretrain checkpoint import"), hint.output)

        // fill-mask: the probabilities are the softmax of HF's logits at the [MASK] (position 8 of text 1).
        let (mlm, _) = try importCheckpoint(Self.fixtures + "/bert-mlm", dir + "/mlm")
        let masked = try ProcessRunner.pretrain(["predict", "--task", "fill-mask", "--checkpoint", mlm, "--input", expected.texts[1], "--json", "--top-k", "3", "--threads", "1"])
        XCTAssertEqual(masked.status, 0, masked.output)
        let V = expected.json["vocab_size"] as! Int
        let position = try XCTUnwrap(expected.ids[1].firstIndex(of: 4))
        let logits = Array(expected.values("bert-mlm", "logits", 1)[(position * V)..<((position + 1) * V)]).map(Double.init)
        let top = logits.max()!, sum = logits.map { exp($0 - top) }.reduce(0, +)
        let candidates = (try JSONSerialization.jsonObject(with: Data(masked.output.utf8)) as! [[[String: Any]]])[0]
        XCTAssertEqual(candidates.map { $0["token"] as! Int }, Array(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(3)))
        for candidate in candidates {
            let p = exp(logits[candidate["token"] as! Int] - top) / sum
            XCTAssertEqual(candidate["score"] as! Double, p, accuracy: 1e-4 * p)
        }

        // classify with the imported classifier: its id2label names, HF's probabilities.
        let (classifier, _) = try importCheckpoint(Self.fixtures + "/bert-classify", dir + "/classify")
        let classified = try ProcessRunner.pretrain(["predict", "--task", "classify", "--checkpoint", classifier, "--input", expected.texts[0], "--json", "--threads", "1"])
        XCTAssertEqual(classified.status, 0, classified.output)
        let verdict = try JSONSerialization.jsonObject(with: Data(classified.output.utf8)) as! [String: Any]
        let classLogits = expected.values("bert-classify", "logits", 0).map(Double.init)
        let names = ["negative", "neutral", "positive"]
        let classSum = classLogits.map { exp($0) }.reduce(0, +)
        XCTAssertEqual(verdict["label"] as? String, names[classLogits.indices.max { classLogits[$0] < classLogits[$1] }!])
        for (k, name) in names.enumerated() {
            XCTAssertEqual((verdict["scores"] as! [String: Double])[name]!, exp(classLogits[k]) / classSum, accuracy: 1e-4)
        }

        // finetune a BertModel import, then classify texts from a file.
        let (body, _) = try importCheckpoint(Self.fixtures + "/bert-model", dir + "/body")
        let examples = (0..<16).map { i in "{\"text\": \"\(i % 2 == 0 ? "the cat sat on the mat" : "hello world, a dog is here")\", \"label\": \(i % 2)}" }
        try examples.joined(separator: "\n").write(toFile: dir + "/train.jsonl", atomically: true, encoding: .utf8)
        let tuned = try ProcessRunner.pretrain(["finetune", "--checkpoint", body, "--data", dir + "/train.jsonl", "--labels", "2", "--steps", "3",
                                                "--micro-batch", "4", "--out", dir + "/tuned", "--threads", "1"])
        XCTAssertEqual(tuned.status, 0, tuned.output)
        let predicted = try ProcessRunner.pretrain(["predict", "--task", "classify", "--checkpoint", dir + "/tuned", "--input-file", dir + "/train.jsonl", "--threads", "1"])
        XCTAssertEqual(predicted.status, 0, predicted.output)
        XCTAssertEqual(predicted.lines.count, 16, predicted.output)

        // Continued masked-LM pretraining from the BertForMaskedLM import, on shards of its own WordPiece tokenizer.
        let corpus = (0..<300).map { ["the cat sat on the mat.", "hello world!", "a dog is here, and cats."][$0 % 3] }.joined(separator: "\n")
        try corpus.write(toFile: dir + "/corpus.txt", atomically: true, encoding: .utf8)
        let tokenizer = Self.fixtures + "/bert-mlm/tokenizer.json"
        let prepared = try ProcessRunner.pretrain(["data", "prepare", "--input", dir + "/corpus.txt", "--line-documents", "--tokenizer", tokenizer,
                                                   "--tokenizer-model", "wordpiece", "--out", dir + "/data"])
        XCTAssertEqual(prepared.status, 0, prepared.output)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mlm + "/manifest.json"))) as! [String: Any]
        try (manifest["config"] as! String).write(toFile: dir + "/run.yaml", atomically: true, encoding: .utf8)
        let trained = try ProcessRunner.pretrain(["train", "--config", dir + "/run.yaml", "--resume", mlm, "--quiet", "--set", "num_processes=1",
                                                  "--set", "data.train=\(dir)/data/train_*.bin", "--set", "data.val=", "--set", "data.tokenizer=\(tokenizer)",
                                                  "--set", "training.steps=2", "--set", "training.micro_batch=2", "--set", "training.seq_len=16",
                                                  "--set", "logging.run_dir=\(dir)/run", "--set", "checkpoint.dir=\(dir)/continued", "--set", "checkpoint.every=2"])
        XCTAssertEqual(trained.status, 0, trained.output)
        XCTAssertEqual(try CheckpointFixtures.losses(dir + "/run").keys.sorted(), [1, 2], trained.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/continued/step-00000002/manifest.json"), trained.output)

        let unsupported = dir + "/qa"
        try FileManager.default.createDirectory(atPath: unsupported, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.fixtures + "/bert-mlm/model.safetensors", toPath: unsupported + "/model.safetensors")
        let config = try String(contentsOfFile: Self.fixtures + "/bert-mlm/config.json", encoding: .utf8).replacingOccurrences(of: "BertForMaskedLM", with: "BertForQuestionAnswering")
        try config.write(toFile: unsupported + "/config.json", atomically: true, encoding: .utf8)
        let refused = try ProcessRunner.pretrain(["checkpoint", "import", unsupported, "--out", dir + "/qa-out"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.lines.count, 1, refused.output)
        XCTAssertTrue(refused.output.contains("architectures is BertForQuestionAnswering; pretrain imports BertModel, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification"), refused.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/qa-out"))
    }

    /// Exports carry what pipelines need: label names as id2label/label2id, tokenizer_config.json and
    /// special_tokens_map.json, and a tokenizer.json whose post-processor adds [CLS] … [SEP] (as HF's
    /// ids), also for the project's byte-level BPE BERT, whose own tokenizer.json has none.
    func testExportsCarryTheTokenizerFilesAndLabelNamesPipelinesNeed() throws {
        let expected = try Expected(), dir = try temporaryDirectory()
        let (classifier, _) = try importCheckpoint(Self.fixtures + "/bert-classify", dir + "/classify")
        for (source, name) in [(classifier, "classify"), (LegacyCheckpointTests.fixtures + "/bert/step-00000004", "legacy")] {
            let run = try ProcessRunner.pretrain(["checkpoint", "export", source, "--out", dir + "/hf-" + name])
            XCTAssertEqual(run.status, 0, run.output)
            XCTAssertTrue(run.output.contains("tokenizer.json, tokenizer_config.json, special_tokens_map.json"), run.output)
            let out = dir + "/hf-" + name
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/tokenizer_config.json"))) as! [String: Any]
            XCTAssertEqual(config["tokenizer_class"] as? String, "PreTrainedTokenizerFast")
            XCTAssertEqual(config["mask_token"] as? String, "[MASK]")
            let map = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/special_tokens_map.json"))) as! [String: String]
            XCTAssertEqual(map["cls_token"], "[CLS]")
            let tokenizer = try HuggingFaceTokenizer.load(from: out + "/tokenizer.json")
            let specials = try BERTSpecialTokens(tokenizer: tokenizer)
            let text = expected.texts[0]
            XCTAssertEqual(tokenizer.encode(text), [specials.cls] + tokenizer.encode(text, addSpecialTokens: false) + [specials.sep], name)
            if name == "classify" {
                XCTAssertEqual(tokenizer.encode(text), expected.ids[0], "HF's ids, specials included")
                let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: Any]
                XCTAssertEqual(model["id2label"] as? [String: String], ["0": "negative", "1": "neutral", "2": "positive"])
                XCTAssertEqual(model["label2id"] as? [String: Int], ["negative": 0, "neutral": 1, "positive": 2])
            }
        }
    }
}
