import Config
import Foundation
import TestSupport
import XCTest

/// `pretrain train` with `model.arch: transformer` on a JSON-lines pair file under real mpirun: 2 ranks
/// report 1 rank's losses (1 rank accumulates the 2 micro-batches the 2 ranks take; to 1e-5, as
/// TrainCommandTests), and `pretrain predict --task translation` (greedy and with beams), `pretrain
/// eval --generate` on pairs and `pretrain checkpoint export` (a torch state_dict) read the checkpoint.
final class TransformerTrainCommandTests: XCTestCase {
    func testMPITwoRanksEqualOneRank() throws {
        let dir = try PairFixtures.data()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = PairFixtures.config(dir, processes: 1, accumulation: 1)
        config.training.steps = 8
        config.training.globalBatch = 4
        let file = dir + "/run.yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        var curves: [[Double]] = []
        for ranks in [1, 2] {
            let runDir = dir + "/run-\(ranks)"
            let run = try ProcessRunner.mpirun(ranks, ["train", "--config", file, "--set", "num_processes=\(ranks)",
                                                       "--set", "logging.run_dir=\(runDir)", "--quiet"])
            XCTAssertEqual(run.status, 0, run.output)
            let text = try String(contentsOfFile: runDir + "/metrics/rank-00000.jsonl", encoding: .utf8)
            curves.append(try text.split(separator: "\n").compactMap {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["loss"] as? Double
            })
        }
        XCTAssertEqual(curves[0].count, 8)
        XCTAssertEqual(curves[1].count, curves[0].count)
        for (i, (a, b)) in zip(curves[1], curves[0]).enumerated() {
            XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "2 MPI ranks, step \(i + 1)")
        }
        let predict = try ProcessRunner.pretrain(["predict", "--task", "translation", "--checkpoint", dir + "/run-2/checkpoints",
                                                  "--input", "abc", "--max-new-tokens", "4"])
        XCTAssertEqual(predict.status, 0, predict.output)
        let beams = try ProcessRunner.pretrain(["predict", "--task", "translation", "--checkpoint", dir + "/run-2/checkpoints",
                                                "--input", "abc", "--max-new-tokens", "4", "--num-beams", "2", "--length-penalty", "0.5"])
        XCTAssertEqual(beams.status, 0, beams.output)
        let eval = try ProcessRunner.pretrain(["eval", "--checkpoint", dir + "/run-2/checkpoints", "--data", dir + "/val.jsonl",
                                               "--generate", "--max-new-tokens", "6"])
        XCTAssertEqual(eval.status, 0, eval.output)
        XCTAssertTrue(eval.output.contains("| BLEU ") && eval.output.contains("| chrF ") && eval.output.contains("8 pairs"), eval.output)
        // Bad input: a T5 task prefix given to a Transformer checkpoint is one line naming the fix.
        let prefixed = try ProcessRunner.pretrain(["eval", "--checkpoint", dir + "/run-2/checkpoints", "--data", dir + "/val.jsonl",
                                                   "--prefix", "translate English to German: "])
        XCTAssertEqual(prefixed.status, 2, prefixed.output)
        let lines = prefixed.output.split(separator: "\n").filter { !$0.isEmpty }
        XCTAssertEqual(lines.count, 1, prefixed.output)
        XCTAssertTrue(prefixed.output.contains("is a Transformer checkpoint") && prefixed.output.contains("drop --prefix"), prefixed.output)
        let export = try ProcessRunner.pretrain(["checkpoint", "export", dir + "/run-2/checkpoints", "--out", dir + "/torch"])
        XCTAssertEqual(export.status, 0, export.output)
        XCTAssertTrue(export.output.contains("as a torch.nn.Transformer state_dict"), export.output)
        for file in ["model.safetensors", "config.json", "tokenizer.json"] { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/torch/" + file), file) }
    }
}
