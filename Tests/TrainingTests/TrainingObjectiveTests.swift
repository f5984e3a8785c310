import Config
import DataPipeline
import Distributed
import Foundation
import Model
import TestSupport
import Training
import XCTest

/// Masked-LM training through the data-parallel loop: N ranks equal 1 rank (with and without NSP and
/// dropout), the loss falls, and a tokenizer without BERT's special tokens is a one-line error.
final class TrainingObjectiveTests: XCTestCase {
    /// A BERT config over the fixture corpus (ids < 64) with a byte-level tokenizer whose specials are
    /// ids 256–260 ([PAD] [MASK] [CLS] [SEP] among them).
    func bertConfig(data dir: String, processes: Int, accumulation: Int, nsp: Bool, specials: [String] = AddedToken.defaultSpecials) throws -> RunConfig {
        let bytes = (0..<256).map { [UInt8($0)] as [UInt8]? }
        let added = specials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        let path = dir + "/tokenizer.json"
        try Tokenizer(tokens: bytes, merges: [], addedTokens: added).save(to: path)
        var c = TrainingFixtures.config(data: dir, processes: processes, microBatch: 2, accumulation: accumulation,
                                        model: GPTConfig(vocabSize: 261, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32))
        c.family.arch = .bert
        c.family.nsp = nsp
        c.model.layerNormEps = 1e-5
        if nsp {  // the NSP runs also exercise BERT's dropout, seeded per (step, micro-batch, rank)
            c.model.residualDropout = 0.1
            c.model.attentionDropout = 0.1
        }
        c.data.tokenizer = path
        try ConfigLoader.validate(c, origin: "test")
        return c
    }

    func testMaskedLMNRanksEqualOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for nsp in [false, true] {
            let one = try trainInProcess(bertConfig(data: dir, processes: 1, accumulation: 4, nsp: nsp), ranks: 1)
            XCTAssertEqual(one.losses.count, 20)
            XCTAssertTrue(try InProcessGroup.run(size: 1) { try Trainer(config: self.bertConfig(data: dir, processes: 1, accumulation: 1, nsp: nsp), comm: $0, threads: 1).model is BERT }[0])
            XCTAssertTrue(one.losses.allSatisfy(\.isFinite), "every step has masked targets: \(one.losses)")
            let head = one.losses.prefix(3).reduce(0, +) / 3, tail = one.losses.suffix(3).reduce(0, +) / 3
            XCTAssertLessThan(tail, head - 0.5, "nsp \(nsp): the loss falls: \(head) → \(tail)")
            for (ranks, accumulation) in [(2, 2), (4, 1)] {
                let many = try trainInProcess(bertConfig(data: dir, processes: ranks, accumulation: accumulation, nsp: nsp), ranks: ranks)
                assertSameRun(many, one, "nsp \(nsp), \(ranks) ranks")
            }
        }
    }

    /// `pretrain train` with model.arch bert under real mpirun: 2 ranks give the loss curve of 1 rank.
    func testMaskedLMUnderMPIMatchesOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try bertConfig(data: dir, processes: 1, accumulation: 1, nsp: true)
        config.training.globalBatch = 4
        config.training.steps = 10
        let file = dir + "/bert.yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        var curves: [[Double]] = []
        for ranks in [1, 2] {
            let runDir = dir + "/run-\(ranks)"
            let run = try ProcessRunner.mpirun(ranks, ["train", "--config", file, "--set", "num_processes=\(ranks)",
                                                       "--set", "logging.run_dir=\(runDir)", "--quiet"], timeout: 120)
            XCTAssertEqual(run.status, 0, run.output)
            let text = try String(contentsOfFile: runDir + "/metrics/rank-00000.jsonl", encoding: .utf8)
            curves.append(try text.split(separator: "\n").compactMap { line in
                (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["loss"] as? Double
            })
        }
        XCTAssertEqual(curves[0].count, 10)
        XCTAssertEqual(curves[1].count, 10)
        for (i, (a, b)) in zip(curves[1], curves[0]).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "2 MPI ranks, step \(i + 1)")
        }
    }

    func testTokenizerWithoutBERTSpecialsIsOneLine() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try bertConfig(data: dir, processes: 1, accumulation: 1, nsp: false, specials: [AddedToken.endOfText, AddedToken.pad])
        assertTrainerRefuses(config, "tokenizer.json: tokenizer has no [CLS], [SEP], [MASK] special tokens")
    }

    /// A config that records a fine-tuned classifier (model.num_labels > 0) is not something
    /// `pretrain train` can pretrain: one line pointing at `pretrain finetune`.
    func testClassifierConfigIsNotPretrainedAndSaysSoInOneLine() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = try bertConfig(data: dir, processes: 1, accumulation: 1, nsp: false)
        config.family.numLabels = 3
        assertTrainerRefuses(config, "model.num_labels is 3: pretrain train trains the masked-LM heads; fine-tune a classifier with `pretrain finetune`")
        // The same for a GPT: a classifier config is refused, not silently trained as a language model.
        var gpt = TrainingFixtures.config(data: dir, processes: 1, microBatch: 4, accumulation: 1, steps: 2)
        gpt.family.numLabels = 2
        assertTrainerRefuses(gpt, "model.num_labels is 2: pretrain train trains a GPT language model; fine-tune a classifier with `pretrain finetune`")
    }
}
