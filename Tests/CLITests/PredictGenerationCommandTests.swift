import DataPipeline
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// `pretrain predict` generating with a T5 end to end: a random T5 exported as Hugging Face saves it,
/// with a byte-level tokenizer, imported with `pretrain checkpoint import`, then `predict
/// --input-file … --num-beams 3 --quiet` prints per text the decoded `BeamSearch` output computed
/// in-test on the imported checkpoint; sampling flags with one --seed print the same texts twice.
final class PredictGenerationCommandTests: XCTestCase {
    /// A random T5 exported as Hugging Face saves it (with `config.prefix` when `prefix` is not empty)
    /// with a byte-level tokenizer, then imported by `pretrain checkpoint import` into `dir`/ckpt.
    private func importedCheckpoint(_ dir: String, prefix: String = "") throws {
        let specials = AddedToken.defaultSpecials + T5SpecialTokens.sentinelNames(2).reversed()
        let added = specials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        var config = T5Config()
        (config.vocabSize, config.dModel, config.dKV, config.numHeads, config.dFF) = (256 + specials.count, 16, 4, 2, 24)
        (config.numLayers, config.numDecoderLayers, config.relativeAttentionNumBuckets, config.relativeAttentionMaxDistance) = (2, 2, 8, 16)
        let model = try T5(config: config, maxBatch: 1, maxSource: 1, maxTarget: 1)
        model.initializeWeights(seed: 7)
        try model.exportHuggingFace(to: dir + "/hf", prefix: prefix)
        try Tokenizer(tokens: (0..<256).map { [UInt8($0)] }, merges: [], addedTokens: added).save(to: dir + "/hf/tokenizer.json")
        let imported = try ProcessRunner.pretrain(["checkpoint", "import", dir + "/hf", "--out", dir + "/ckpt"])
        XCTAssertEqual(imported.status, 0, imported.output)
    }

    func testBeamSearchAndSeededSamplingThroughTheCommand() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("predict-t5")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try importedCheckpoint(dir)
        let texts = ["hello", "a longer text, with commas"]
        try texts.map { "{\"text\": \"\($0)\"}" }.joined(separator: "\n").write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)

        let base = ["predict", "--checkpoint", dir + "/ckpt", "--task", "translation", "--input-file", dir + "/in.jsonl",
                    "--max-new-tokens", "6", "--quiet", "--threads", "1"]
        let beams = try ProcessRunner.pretrain(base + ["--num-beams", "3", "--length-penalty", "0.5", "--early-stopping", "true"])
        XCTAssertEqual(beams.status, 0, beams.output)
        let checkpoint = try ModelCheckpoint.open(dir + "/ckpt")
        let tokenizer = try checkpoint.byteLevelTokenizer()
        var settings = GenerationSettings()
        (settings.numBeams, settings.maxNewTokens, settings.lengthPenalty, settings.earlyStopping) = (3, 6, 0.5, .whenFull)
        let expected = try texts.map { text in
            let source = tokenizer.encode(text) + [256]   // <|endoftext|> is the EOS
            let inference = try T5Inference(model: try checkpoint.t5(batch: 1, source: source.count, target: 1), capacity: 6, rows: 3)
            var ids = try BeamSearch(inference: inference, settings: settings).run(source: source).ids
            if ids.last == 256 { ids.removeLast() }
            return tokenizer.decodeText(ids)
        }
        XCTAssertEqual(beams.output, expected.map { $0 + "\n" }.joined(), "--quiet: only the texts, one per input")

        // --num-return-sequences 2: the two best beams per text, best first; as JSON lines without --quiet,
        // one list per text under the translation pipeline's field name.
        let returns = ["--num-beams", "3", "--length-penalty", "0.5", "--num-return-sequences", "2"]
        let two = try ProcessRunner.pretrain(base + returns)
        let json = try ProcessRunner.pretrain(base.filter { $0 != "--quiet" } + returns)
        XCTAssertEqual(two.status, 0, two.output)
        XCTAssertEqual(json.status, 0, json.output)
        settings.earlyStopping = .heuristic
        settings.numReturnSequences = 2
        let best2 = try texts.map { text in
            let source = tokenizer.encode(text) + [256]
            let inference = try T5Inference(model: try checkpoint.t5(batch: 1, source: source.count, target: 1), capacity: 6, rows: 3)
            return try BeamSearch(inference: inference, settings: settings).run(source: source, returning: 2).map { hypothesis in
                tokenizer.decodeText(hypothesis.ids.last == 256 ? Array(hypothesis.ids.dropLast()) : hypothesis.ids)
            }
        }
        XCTAssertEqual(two.lines, best2.flatMap { $0 }, two.output)
        let parsed = try json.lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [[String: String]], $0) }
        XCTAssertEqual(parsed, best2.map { $0.map { ["translation_text": $0] } })

        let sampling = base + ["--temperature", "1.5", "--top-p", "0.9", "--seed", "3"]
        let first = try ProcessRunner.pretrain(sampling), second = try ProcessRunner.pretrain(sampling)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertEqual(first.output, second.output)
        XCTAssertEqual(first.lines.count, texts.count, first.output)
    }

    /// An HF directory's `config.prefix` comes in as the checkpoint's task prefix, which predict puts
    /// before a text (not twice); `--prefix ''` leaves it out; `--prefix` on a task that does not
    /// generate is one line.
    func testTheImportedPrefixGoesFirst() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("predict-t5-prefix")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try importedCheckpoint(dir, prefix: "tr: ")
        // Sampled with one seed: the same text gives the same output, another text (almost surely) not;
        // this random model's greedy output is one token repeated whatever the text.
        let base = ["predict", "--checkpoint", dir + "/ckpt", "--task", "translation", "--max-new-tokens", "12", "--quiet", "--threads", "1",
                    "--temperature", "1", "--seed", "3"]
        let added = try ProcessRunner.pretrain(base + ["hello"])
        let given = try ProcessRunner.pretrain(base + ["tr: hello"])
        let spelled = try ProcessRunner.pretrain(base + ["--prefix", "", "tr: hello"])
        let none = try ProcessRunner.pretrain(base + ["--prefix", "", "hello"])
        for run in [added, given, spelled, none] { XCTAssertEqual(run.status, 0, run.output) }
        XCTAssertEqual(added.output, spelled.output, "the checkpoint's prefix is put first")
        XCTAssertEqual(given.output, spelled.output, "and not twice")
        XCTAssertNotEqual(none.output, spelled.output, "the prefix changes this model's output")
        let wrong = try ProcessRunner.pretrain(["predict", "--checkpoint", dir + "/ckpt", "--task", "fill-mask", "--prefix", "x", "a [MASK]"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertEqual(wrong.lines, ["error: --prefix applies to generation (text2text-generation, translation, summarization), not --task fill-mask; drop --prefix"])
    }
}
