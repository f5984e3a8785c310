import Config
import DataPipeline
import Foundation
import Model
import TestSupport
import XCTest

/// `pretrain predict`: fill-mask's top-k ids and probabilities equal a softmax of the model's own MLM
/// logits computed in-test; classify's label and score equal the argmax and softmax of the classifier
/// logits computed in-test; the wrong task for a checkpoint is one line.
final class PredictCommandTests: XCTestCase {
    /// (id, probability) of each "[MASK]… r: token<TAB>p<TAB>id N" line whose prefix is `prefix`.
    func predictions(_ run: ProcessRunner.Run, prefix: String) throws -> [(Int, Double)] {
        try run.lines.filter { $0.hasPrefix(prefix) }.map { line in
            let fields = line.split(separator: "\t")
            XCTAssertEqual(fields.count, 3, line)
            return (try XCTUnwrap(Int(fields[2].dropFirst(3)), line), try XCTUnwrap(Double(fields[1]), line))
        }
    }

    func testFillMaskProbabilitiesAreTheSoftmaxOfTheModelsLogits() throws {
        let dir = try BERTCheckpointFixtures.pretrained.get()
        let text = "[MASK]bcd[MASK]f"
        let run = try ProcessRunner.pretrain(["predict", "--checkpoint", dir + "/ckpt", "--task", "fill-mask", text, "--top-k", "4", "--threads", "1"])
        XCTAssertEqual(run.status, 0, run.output)
        let loaded = try BERTCheckpointFixtures.load(dir + "/ckpt", seqLen: 16)
        let ids = try BERTCheckpointFixtures.encode(text, loaded.tokenizer)
        let specials = try BERTSpecialTokens(tokenizer: loaded.tokenizer)
        XCTAssertEqual(ids.count, 8, "[CLS] [MASK] b c d [MASK] f [SEP]")
        try loaded.model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: nil, B: 1, T: ids.count)
        let V = loaded.config.model.vocabSize
        let positions = ids.indices.filter { ids[$0] == specials.mask }
        XCTAssertEqual(positions, [1, 5])
        for (n, position) in positions.enumerated() {
            let p = BERTCheckpointFixtures.softmax(loaded.model.logits + position * V, count: V)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-9)
            let expected = p.indices.sorted { p[$0] > p[$1] }.prefix(4)
            let got = try predictions(run, prefix: "[MASK]#\(n + 1) ")
            XCTAssertEqual(got.map(\.0), Array(expected), "top-4 ids at mask \(n + 1): \(run.output)")
            for (id, probability) in got { XCTAssertEqual(probability, p[id], accuracy: 2e-6, "mask \(n + 1), id \(id)") }
            XCTAssertNotEqual(got[0].1, 1.0 / Double(V), accuracy: 1e-4, "the model is not uniform (it was trained)")
        }
        // One mask: lines are "[MASK] r: …", and the probabilities at one position do not depend on the other's.
        let single = try ProcessRunner.pretrain(["predict", "--checkpoint", dir + "/ckpt", "--task", "fill-mask", "a[MASK]", "--top-k", "1", "--threads", "1"])
        XCTAssertEqual(single.status, 0, single.output)
        XCTAssertEqual(try predictions(single, prefix: "[MASK] 1: ").count, 1, single.output)
    }

    /// Asserts `run` printed "label: NAME<TAB>p" for the argmax of `p` and "  name<TAB>p" for every label;
    /// returns the printed name.
    func assertPrintsLabel(_ run: ProcessRunner.Run, _ p: [Double], _ names: [String], _ text: String,
                           file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let best = p.indices.max { p[$0] < p[$1] }!
        let printed = try XCTUnwrap(run.lines.first { $0.hasPrefix("label: ") }, run.output, file: file, line: line)
        let fields = printed.dropFirst(7).split(separator: "\t")
        XCTAssertEqual(String(fields[0]), names[best], "\(text): \(run.output)", file: file, line: line)
        XCTAssertEqual(try XCTUnwrap(Double(fields[1])), p[best], accuracy: 2e-6, text, file: file, line: line)
        for k in names.indices {
            let row = try XCTUnwrap(run.lines.first { $0.hasPrefix("  \(names[k])\t") }, run.output, file: file, line: line)
            XCTAssertEqual(try XCTUnwrap(Double(row.split(separator: "\t")[1])), p[k], accuracy: 2e-6, "\(text), \(names[k])", file: file, line: line)
        }
        return String(fields[0])
    }

    func testClassifyPrintsTheArgmaxLabelWithItsSoftmaxScore() throws {
        let dir = try BERTCheckpointFixtures.pretrained.get()
        let work = dir + "/predict-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let train = try BERTCheckpointFixtures.task(work, name: "train.jsonl", count: 64, seed: 1)
        let tune = try ProcessRunner.pretrain(["finetune", "--checkpoint", dir + "/ckpt", "--data", train, "--labels", "3", "--steps", "150", "--lr", "3e-3", "--seed", "3",
                                               "--label-names", "digits,early,late", "--out", work + "/ft", "--threads", "1"])
        XCTAssertEqual(tune.status, 0, tune.output)
        let loaded = try BERTCheckpointFixtures.load(work + "/ft", seqLen: 16)
        let names = ["digits", "early", "late"]
        var seen = Set<String>()
        for text in ["abcdhg", "pqrwvu", "0123", "a0p"] {
            let run = try ProcessRunner.pretrain(["predict", "--checkpoint", work + "/ft", "--task", "classify", text, "--threads", "1"])
            XCTAssertEqual(run.status, 0, run.output)
            let ids = try BERTCheckpointFixtures.encode(text, loaded.tokenizer)
            try loaded.model.forward(tokens: ids, segments: nil, attentionMask: nil, targets: nil, B: 1, T: ids.count)
            let p = BERTCheckpointFixtures.softmax(loaded.model.sequenceLogits, count: 3)
            seen.insert(try assertPrintsLabel(run, p, names, text))
        }
        XCTAssertGreaterThan(seen.count, 1, "different texts get different labels after 150 steps: \(seen)")
    }

    func testWrongTaskForTheCheckpointIsOneLine() throws {
        let dir = try BERTCheckpointFixtures.pretrained.get()
        func fails(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let run = try ProcessRunner.pretrain(arguments)
            XCTAssertNotEqual(run.status, 0, run.output, file: file, line: line)
            XCTAssertEqual(run.lines.count, 1, "one line: \(run.output)", file: file, line: line)
            XCTAssertTrue(run.output.hasPrefix("error: ") && run.output.contains(expected), run.output, file: file, line: line)
        }
        try fails(["predict", "--checkpoint", dir + "/ckpt", "--task", "classify", "abc"], "is a masked-LM checkpoint with no classifier head")
        try fails(["predict", "--checkpoint", dir + "/ckpt", "--task", "fill-mask", "abc"], "the text has no [MASK] token")
        try fails(["predict", "--checkpoint", dir + "/ckpt", "--task", "summarize", "abc"], "--task summarize is not a prediction task")
        try fails(["predict", "--checkpoint", dir + "/ckpt", "--task", "translation", "abc", "--early-stopping", "maybe"],
                  "--early-stopping maybe is not a choice; use true, false or never")
        try fails(["predict", "--checkpoint", dir + "/ckpt", "--task", "translation", "abc", "--num-beams", "2"],
                  "is a BERT checkpoint; --task translation generates text with a T5 or Transformer checkpoint")
    }

    /// A fine-tuned GPT classifier: the printed label is one of the names, the argmax of the softmax of the
    /// score head on the text's last token computed in-test, with that probability; a text longer than the
    /// fine-tuning's T is read as its first T tokens (a warning on stderr).
    func testGPTClassifyPrintsTheArgmaxLabelWithItsSoftmaxScore() throws {
        let dir = try GPTCheckpointFixtures.pretrained.get()
        let work = dir + "/predict-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let train = try BERTCheckpointFixtures.task(work, name: "train.jsonl", count: 64, seed: 1)
        let tune = try ProcessRunner.pretrain(["finetune", "--checkpoint", dir + "/ckpt", "--data", train, "--labels", "3", "--steps", "60", "--lr", "3e-3", "--seed", "3",
                                               "--label-names", "digits,early,late", "--out", work + "/ft", "--threads", "1"])
        XCTAssertEqual(tune.status, 0, tune.output)
        let loaded = try GPTCheckpointFixtures.load(work + "/ft", seqLen: 16)
        let names = ["digits", "early", "late"]
        var seen = Set<String>()
        for text in ["abcdhg", "pqrwvu", "0123", "a0p", "abcdefghabcdefgh0123"] {
            let run = try ProcessRunner.pretrain(["predict", "--checkpoint", work + "/ft", "--task", "classify", text, "--threads", "1"])
            XCTAssertEqual(run.status, 0, run.output)
            let p = try GPTCheckpointFixtures.classify(text, loaded)
            XCTAssertEqual(run.output.contains("only the first 16 are read"), text.count > 16, run.output)
            seen.insert(try assertPrintsLabel(run, p, names, text))
        }
        XCTAssertGreaterThan(seen.count, 1, "different texts get different labels after 60 steps: \(seen)")
    }
}
