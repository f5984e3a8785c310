import TestSupport
import XCTest

/// `pretrain bench scaling`: bad flags and flag combinations are one line each, before any run starts.
final class BenchScalingCommandTests: XCTestCase {
    func testBadFlagsAreOneLineNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["--preset", "xl"], "--preset xl is not a preset; use s or m"),
            (["--compression", "fp8"], "--compression fp8 is not none or bf16"),
            (["--paired-without-raw"], "--paired-without-raw adds a variant of the paired run; add --paired"),
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
}
