import Config
import Foundation
import TestSupport
import XCTest

/// What `pretrain train` writes while it runs (Sources/pretrain/TrainingReporter.swift): one parsable
/// JSON record per step and per eval, the same numbers in the CSV twin, plain lines when not on a
/// terminal, and the loss plot at the end.
final class TrainingReporterTests: XCTestCase {
    func testOneParsableRecordPerStepCSVTwinPlainLinesAndPlot() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 4, accumulation: 1, steps: 12)
        config.data.val = dir + "/train_*.bin"
        config.training.evalInterval = 5
        config.training.evalSteps = 2
        config.logging.interval = 5
        config.logging.runDir = dir + "/run"
        let file = dir + "/run.yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        let run = try ProcessRunner.pretrain(["train", "--config", file, "--set", "num_processes=1"])
        XCTAssertEqual(run.status, 0, run.output)

        let text = try String(contentsOfFile: dir + "/run/metrics/rank-00000.jsonl", encoding: .utf8)
        var steps: [Int: [String: Any]] = [:], evals: [Int: [String: Any]] = [:]
        for line in text.split(separator: "\n") {
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            let step = try XCTUnwrap(object["step"] as? Int)
            if object["checkpoint"] != nil {
                XCTAssertEqual(object["checkpoint"] as? String, "saved", "the save at the end")
            } else if object["loss"] != nil {
                XCTAssertNil(steps[step], "one record per step")
                steps[step] = object
            } else {
                evals[step] = object
            }
        }
        XCTAssertEqual(steps.keys.sorted(), Array(1...12))
        for (step, record) in steps {
            for key in ["loss", "lr", "grad_norm", "tokens_per_s", "mfu", "step_ms", "compute_ms", "comm_ms", "exposed_comm_ms", "elapsed_s"] {
                XCTAssertNotNil(record[key] as? Double ?? (record[key] as? Int).map(Double.init), "step \(step) has a number \(key)")
            }
            XCTAssertGreaterThan(record["tokens_per_s"] as! Double, 0)
        }
        XCTAssertEqual(evals.keys.sorted(), [5, 10, 12])
        for (_, record) in evals {
            let loss = record["val_loss"] as! Double, perplexity = record["val_perplexity"] as! Double
            XCTAssertEqual(perplexity, exp(loss), accuracy: 1e-3 * exp(loss))
        }

        // The CSV twin: a header and one row per record, with the same numbers.
        let csv = try String(contentsOfFile: dir + "/run/metrics/rank-00000.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        let header = csv[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(csv.count, 1 + 12 + 3)
        let stepColumn = header.firstIndex(of: "step")!, lossColumn = header.firstIndex(of: "loss")!, valColumn = header.firstIndex(of: "val_loss")!
        for row in csv.dropFirst() {
            let cells = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(cells.count, header.count, row)
            let step = Int(cells[stepColumn])!
            if cells[lossColumn].isEmpty {
                XCTAssertEqual(Double(cells[valColumn])!, evals[step]!["val_loss"] as! Double, accuracy: 1e-9)
            } else {
                XCTAssertEqual(Double(cells[lossColumn])!, steps[step]!["loss"] as! Double, accuracy: 1e-9)
            }
        }

        // Not a terminal: plain lines at the interval (and the first and last step), no progress bar.
        let stepLines = run.lines.filter { $0.hasPrefix("step ") }.map { String($0.prefix(13)) }
        XCTAssertEqual(stepLines, ["step     1/12", "step     5/12", "step    10/12", "step    12/12"], run.output)
        XCTAssertFalse(run.output.contains("\r") || run.output.contains("\u{1B}["), "no terminal control characters in a log")
        XCTAssertTrue(run.output.contains("ETA"), run.output)

        // The plot drawn at the end: one train-loss point per step.
        let svg = try String(contentsOfFile: dir + "/run/plot.svg", encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "id=\"train-loss\"[^>]*points=\"([^\"]*)\"")
        let match = try XCTUnwrap(pattern.firstMatch(in: svg, range: NSRange(svg.startIndex..., in: svg)))
        XCTAssertEqual(svg[Range(match.range(at: 1), in: svg)!].split(separator: " ").count, 12)
        XCTAssertTrue(run.output.contains("plot: 12 step(s), 3 eval(s)"), run.output)

        // On a terminal (forced here, as `pretrain launch` does when its output is one): a bar redrawn
        // in place, evals printed above it, and the summary on a line of its own.
        let bar = try ProcessRunner.execute(try ProcessRunner.pretrainBinary(), ["train", "--config", file, "--set", "num_processes=1",
                                                                                         "--set", "logging.run_dir=\(dir)/run-bar"],
                                            environment: ["PRETRAIN_PROGRESS": "bar"])
        XCTAssertEqual(bar.status, 0, bar.output)
        XCTAssertTrue(bar.output.contains("\r\u{1B}[2Kstep 12/12 "), bar.output)
        let evalLine = try XCTUnwrap(bar.output.range(of: "eval     10 | val loss"), bar.output)
        XCTAssertTrue(["\n", "K"].contains(bar.output[bar.output.index(before: evalLine.lowerBound)]),
                      "an eval starts a line of its own (after a newline, or after clearing the bar): " + bar.output)
        XCTAssertTrue(bar.output.contains(" 100% | loss "), bar.output)
        XCTAssertTrue(bar.output.contains("\ndone: 12 steps"), bar.output)
        XCTAssertFalse(bar.lines.contains { $0.hasPrefix("step ") }, "no plain step lines on a terminal")
    }
}
