import Benchmarks
import Foundation
import Model
import TestSupport
import XCTest

/// `pretrain bench step` on the T5 presets: it runs in fp32 and bf16, its model has the parameter
/// count Hugging Face's `T5ForConditionalGeneration` has on the same shape (the peer
/// Tests/Peers/torch_t5.py wrote Fixtures/t5-bench/param_counts.json), and a wrong name is one line.
final class BenchStepT5CommandTests: XCTestCase {
    static let counts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/t5-bench/param_counts.json")

    static func huggingFaceCount(_ preset: T5BenchPreset) throws -> Int {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.counts)) as? [String: Any])
        return try XCTUnwrap(object[preset.rawValue] as? Int, "\(preset.rawValue) missing in \(Self.counts.path)")
    }

    /// One JSON line of `bench step --preset t5-s` (one untimed-free step on one thread).
    func runT5S(_ extra: [String] = []) throws -> [String: Any] {
        let run = try ProcessRunner.pretrain(["bench", "step", "--preset", "t5-s", "--steps", "1", "--warmup", "0", "--threads", "1", "--json"] + extra,
                                             timeout: 300)
        XCTAssertEqual(run.status, 0, run.output)
        let line = try XCTUnwrap(run.lines.last { $0.hasPrefix("{") }, run.output)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
    }

    func testT5SRunsWithHuggingFacesParameterCountAndThePlannedMemory() throws {
        let object = try runT5S()
        XCTAssertEqual(object["preset"] as? String, "t5-s")
        XCTAssertEqual(object["parameters"] as? Int, try Self.huggingFaceCount(.s))
        XCTAssertEqual(object["tokens_per_step"] as? Int, 4 * (256 + 256), "source + target tokens")
        XCTAssertGreaterThan(try XCTUnwrap(object["tokens_per_s"] as? Int), 0)
        // Random targets over 8192 ids from a fresh model: the loss is finite and above ln(8192)'s half.
        let loss = try XCTUnwrap(object["loss"] as? Double)
        XCTAssertTrue(loss.isFinite && loss > 0.5 * log(8192.0), "loss \(loss)")
        let peak = try XCTUnwrap(object["peak_rss_mb"] as? Int), planned = try XCTUnwrap(object["planned_rss_mb"] as? Int)
        XCTAssertLessThan(abs(Double(planned) / Double(peak) - 1), 0.10, "planned \(planned) MiB, peak RSS \(peak) MiB")
    }

    func testT5SRunsInBF16() throws {
        let object = try runT5S(["--precision", "bf16"])
        XCTAssertTrue((object["matmul"] as? String ?? "").hasPrefix("bf16"), "\(object)")
        XCTAssertTrue((object["loss"] as? Double)?.isFinite ?? false, "\(object)")
    }

    /// t5-base is too big to step in a test; its table must still count what Hugging Face counts.
    func testT5BaseLayoutHasHuggingFacesParameterCount() throws {
        XCTAssertEqual(T5Layout(config: T5BenchPreset.base.config).count, try Self.huggingFaceCount(.base))
        XCTAssertEqual(try Self.huggingFaceCount(.base), 222_903_552, "Hugging Face's published t5-base size")
    }

    func testAWrongT5PresetIsOneLine() throws {
        let run = try ProcessRunner.pretrain(["bench", "step", "--preset", "t5-xl", "--steps", "1"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.output.contains("--preset t5-xl is not a T5 preset; use t5-s or t5-base"), run.output)
        XCTAssertFalse(run.output.contains("Fatal error"), run.output)
    }
}
