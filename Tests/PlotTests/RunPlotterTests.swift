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

    /// `make` installs rsvg-convert (librsvg2-bin, APT_PACKAGES), so a plot comes with a PNG of the
    /// SVG's size: checked from the file's own signature and IHDR chunk, and not a blank page.
    func testThePNGIsWrittenWithTheSVGsSize() throws {
        let run = NSTemporaryDirectory() + "png-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: run) }
        try FileManager.default.createDirectory(atPath: run + "/metrics", withIntermediateDirectories: true)
        let text = (1...20).map { "{\"step\":\($0),\"loss\":\(4.0 - 0.1 * Double($0)),\"lr\":0.001,\"grad_norm\":1.5,\"tokens_per_s\":500.0}\n" }.joined()
        try text.write(toFile: run + "/metrics/rank-00000.jsonl", atomically: true, encoding: .utf8)
        let result = try RunPlotter.plot(run)
        let png = try XCTUnwrap(result.png, result.pngNote ?? "no PNG and no reason")
        XCTAssertEqual(png, run + "/plot.png")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: png)))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "the PNG signature")
        XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
        let big = { (at: Int) in bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        XCTAssertEqual(big(16), 960)
        XCTAssertEqual(big(20), 1040)
        XCTAssertGreaterThan(bytes.count, 10_000, "lines and text, not a blank page")
    }

    func testMissingRunDirectoryIsOneClearLine() {
        XCTAssertThrowsError(try RunPlotter.plot("/nonexistent/run", png: false)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/run does not exist"), "\(error)")
        }
    }
}
