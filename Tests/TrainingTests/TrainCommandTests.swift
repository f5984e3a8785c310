import Config
import Foundation
import TestSupport
import XCTest

/// `pretrain train` under real mpirun: 1, 2 and 4 ranks (4 oversubscribed) agree step by step.
final class TrainCommandTests: XCTestCase {
    func losses(_ runDir: String) throws -> [Double] {
        let text = try String(contentsOfFile: runDir + "/metrics/rank-00000.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line -> Double? in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return object["loss"] as? Double
        }
    }

    func testMPIRanksEqualOneRank() throws {
        let dir = try TrainingFixtures.corpus()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = TrainingFixtures.config(data: dir, processes: 1, microBatch: 2, accumulation: 1)
        config.training.globalBatch = 8  // accumulation follows: 4 on 1 rank, 2 on 2, 1 on 4
        let file = dir + "/run.yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        var curves: [Int: [Double]] = [:]
        for ranks in [1, 2, 4] {
            let runDir = dir + "/run-\(ranks)"
            let run = try ProcessRunner.mpirun(ranks, ["train", "--config", file, "--set", "num_processes=\(ranks)",
                                                       "--set", "logging.run_dir=\(runDir)", "--quiet"])
            XCTAssertEqual(run.status, 0, run.output)
            curves[ranks] = try losses(runDir)
            XCTAssertEqual(curves[ranks]?.count, 20, "one metrics record per step on \(ranks) ranks")
        }
        let one = curves[1]!
        XCTAssertLessThan(one.last!, one.first! - 0.5, "the loss falls")
        for ranks in [2, 4] {
            for (i, (a, b)) in zip(curves[ranks]!, one).enumerated() {
                XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "\(ranks) MPI ranks, step \(i + 1)")
            }
        }
    }

    func testConfigErrorsAreOneLineFromRankZero() throws {
        let dir = NSTemporaryDirectory() + "badcfg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "optimizer:\n  lrr: 1\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let run = try ProcessRunner.mpirun(2, ["train", "--config", dir + "/bad.yaml"])
        XCTAssertNotEqual(run.status, 0)
        let errors = run.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, run.output)
        XCTAssertTrue(errors.first?.contains("did you mean `optimizer.lr`?") ?? false, run.output)
        XCTAssertFalse(run.output.contains("Fatal error"), run.output)
    }
}
