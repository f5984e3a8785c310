import Foundation
import Plot
import XCTest

/// Plotting a run directory: where files go, and what a truncated metrics file gives.
final class RunPlotterTests: XCTestCase {
    func testTruncatedMetricsFilePlotsWhatIsCompleteAndSaysWhatWasSkipped() throws {
        let run = NSTemporaryDirectory() + "plot-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        try FileManager.default.createDirectory(atPath: run + "/metrics", withIntermediateDirectories: true)
        var text = ""
        for s in 1...12 { text += "{\"rank\":0,\"step\":\(s),\"loss\":\(4.0 - 0.1 * Double(s)),\"tokens_per_s\":500.0}\n" }
        text += "{\"rank\":0,\"step\":13,\"loss\":2.7,\"tok"
        try text.write(toFile: run + "/metrics/rank-00000.jsonl", atomically: true, encoding: .utf8)
        let result = try RunPlotter.plot(run, png: false)
        XCTAssertEqual(result.svg, run + "/plot.svg")
        XCTAssertEqual(result.steps, 12)
        XCTAssertTrue(result.skipped?.contains("line 13") ?? false, result.skipped ?? "nothing reported")
        let svg = try String(contentsOfFile: result.svg, encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "id=\"train-loss\"[^>]*points=\"([^\"]*)\"")
        let match = try XCTUnwrap(pattern.firstMatch(in: svg, range: NSRange(svg.startIndex..., in: svg)), "a train-loss polyline")
        let attribute = svg[Range(match.range(at: 1), in: svg)!]
        XCTAssertEqual(attribute.split(separator: " ").count, 12, String(attribute))
    }

    func testMissingRunDirectoryIsOneClearLine() {
        XCTAssertThrowsError(try RunPlotter.plot("/nonexistent/run", png: false)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/run does not exist"), "\(error)")
        }
    }
}
