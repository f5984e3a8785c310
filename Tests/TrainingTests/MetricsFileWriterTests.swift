import Foundation
import Plot
import TestSupport
import Training
import XCTest

/// `MetricsFileWriter`: a new run starts its files afresh (CSV header first), a resumed one appends,
/// and a checkpoint event is a JSON record with no CSV row.
final class MetricsFileWriterTests: XCTestCase {
    func testFreshFilesAppendingAndCheckpointRecords() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = dir + "/run/metrics"
        func read(_ ext: String) throws -> [String] {
            try String(contentsOfFile: metrics + "/rank-00003." + ext, encoding: .utf8).split(separator: "\n").map(String.init)
        }

        var writer: MetricsFileWriter? = try MetricsFileWriter(directory: metrics, rank: 3)
        writer?.write(.checkpoint(CheckpointReport(kind: .saved, step: 5, path: "ckpt/step-00000005")), elapsed: 1)
        writer?.write(.warning("ignored"), elapsed: 2)
        writer = nil
        XCTAssertEqual(try read("csv"), [MetricsRecord.csvHeader])
        let json = try read("jsonl")
        XCTAssertEqual(json.count, 1)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json[0].utf8)) as? [String: Any])
        XCTAssertEqual(object["checkpoint"] as? String, "saved")
        XCTAssertEqual(object["step"] as? Int, 5)

        writer = try MetricsFileWriter(directory: metrics, rank: 3, appending: true)
        writer?.write(.checkpoint(CheckpointReport(kind: .saved, step: 6, path: "ckpt/step-00000006")), elapsed: 3)
        writer = nil
        XCTAssertEqual(try read("jsonl").count, 2, "a resumed run adds to the records")
        XCTAssertEqual(try read("csv"), [MetricsRecord.csvHeader])

        writer = try MetricsFileWriter(directory: metrics, rank: 3)
        writer = nil
        XCTAssertEqual(try read("jsonl"), [], "a new run starts afresh")
    }
}
