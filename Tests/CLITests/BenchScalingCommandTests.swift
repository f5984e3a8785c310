import Foundation
import TestSupport
import XCTest

/// `pretrain bench scaling`: bad flags and flag combinations are one line each, before any run starts;
/// a T5 preset trains span corruption in every configuration.
final class BenchScalingCommandTests: XCTestCase {
    func testBadFlagsAreOneLineNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["--preset", "xl"], "--preset xl is not a preset; use s or m"),
            (["--preset", "t5-xl"], "--preset t5-xl is not a T5 preset; use t5-s or t5-base"),
            (["--compression", "fp8"], "--compression fp8 is not none or bf16"),
            (["--paired-without-raw"], "--paired-without-raw adds a variant of the paired run; add --paired"),
            (["--paired-progressive", "--compression", "bf16"], "--paired-progressive compares uncompressed sums after backward; drop --compression bf16"),
            (["--grad-sync", "after-backward", "--compare-whole-embedding"],
             "--compare-whole-embedding compares schedules that overlap backward; use --grad-sync overlap, both or auto"),
        ]
        for (flags, message) in cases {
            let run = try ProcessRunner.pretrain(["bench", "scaling"] + flags)
            XCTAssertNotEqual(run.status, 0, "\(flags)")
            let lines = run.output.split(separator: "\n").filter { !$0.isEmpty }
            XCTAssertEqual(lines.count, 1, "\(flags): one line, no stack trace: \(run.output)")
            XCTAssertTrue(run.output.contains(message), "\(flags): \(run.output)")
        }
    }

    /// `--preset t5-s --paired`, one step per configuration: every rank trains T5 through the Trainer (a worker
    /// failing fails the command), the header counts Hugging Face's parameters (the peer's fixture),
    /// and each row's tokens/s is B·(S+T) tokens per rank step, T = 58 the span-corrupted target
    /// length of S = 256 at noise density 0.15 and mean span 3 (Hugging Face's
    /// `compute_input_and_target_lengths`: 284 raw tokens, 43 dropped in 14 spans, 43 + 14 + EOS).
    func testT5PresetTrainsOneTwoAndNoSyncRanks() throws {
        let run = try ProcessRunner.pretrain(["bench", "scaling", "--preset", "t5-s", "--steps", "1", "--warmup", "0", "--skip-zero1", "--paired",
                                              "--paired-progressive", "--wait-idle", "0", "--max-foreign", "100"], timeout: 900)
        XCTAssertEqual(run.status, 0, run.output)
        let parameters = try BenchStepT5CommandTests.huggingFaceCount(.s)
        XCTAssertTrue(run.output.contains("bench-t5-s: \(parameters) parameters, B=4 S=256, span-corrupted targets T=58 per rank"), run.output)
        let tokensPerRankStep = 4.0 * (256 + 58)
        let lines = run.output.split(separator: "\n").map(String.init)
        for (label, ranks) in [("1 rank", 1), ("2 ranks, auto", 2), ("2 ranks, no sync", 2)] {
            let row = try XCTUnwrap(lines.first {
                let shown = $0.prefix(45).trimmingCharacters(in: .whitespaces)
                return $0.count > 45 && (shown == label || shown.hasPrefix(label + " →"))
            }, "\(label) row in \(run.output)")
            let fields = row.dropFirst(45).split(separator: " ")
            XCTAssertEqual(Int(fields[0]), ranks, row)
            let tokensPerSecond = try XCTUnwrap(Double(fields[1]), row)
            let stepMs = fields[2].split(separator: "/").compactMap { Double($0) }
            XCTAssertEqual(stepMs.count, ranks, row)
            let expected = stepMs.map { tokensPerRankStep / ($0 / 1000) }.reduce(0, +)
            XCTAssertEqual(tokensPerSecond, expected, accuracy: 0.01 * expected + 1, row)
        }
        XCTAssertTrue(run.output.contains("2 ranks, auto: ") && run.output.contains("× the no-sync run (goal ≥ 0.97×)"), run.output)
        let paired = try XCTUnwrap(lines.first { $0.hasPrefix("2 ranks, auto, paired with no sync: synchronised ÷ no-sync step in the same job") }, run.output)
        // One pair: its ratio is the lockstep ceiling times synchronised ÷ ceiling, and holding every
        // rank to the slower one's step can only lose against the free-running pair.
        func number(after marker: String) throws -> Double {
            let rest = try XCTUnwrap(paired.range(of: marker), "\(marker) in \(paired)").upperBound
            return try XCTUnwrap(Double(paired[rest...].prefix { $0.isNumber || $0 == "." }), paired)
        }
        let ratio = try number(after: "in the same job "), ceiling = try number(after: "lockstep ceiling ")
        let ofCeiling = try number(after: "synchronised ÷ ceiling ")
        XCTAssertLessThanOrEqual(ceiling, 1, paired)
        XCTAssertEqual(ratio, ceiling * ofCeiling, accuracy: 0.002, paired)
        // Two ranks on one host sum after backward progressively, and the paired job compares that with the plain sum.
        XCTAssertTrue(run.output.contains("2 ranks, auto → after-backward, progressive"), run.output)
        XCTAssertTrue(run.output.contains("2 ranks, progressive paired with plain sum: progressive ÷ plain sum, synchronised steps in the same job"), run.output)
        XCTAssertFalse(run.output.contains("bench-s ≥ 1.9×") || run.output.contains("on bench-m"), "GPT's goals are not T5's: \(run.output)")
    }
}
