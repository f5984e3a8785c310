import TestSupport
import XCTest

/// `pretrain bench kernels`: every kernel row of the BENCHMARKS.md table at a tiny shape; bad flags are one line.
final class BenchKernelsCommandTests: XCTestCase {
    func testTinyShapePrintsEveryKernelRow() throws {
        let run = try ProcessRunner.pretrain(["bench", "kernels", "--batch", "1", "--seq-len", "8", "--channels", "16", "--heads", "2",
                                              "--vocab", "32", "--params", "256", "--repeats", "1", "--clock", "thread-cpu"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("kernels at B=1 T=8 C=16 NH=2 V=32, 1 thread(s)"), run.output)
        for row in ["embedding fwd", "layernorm bwd", "linear qkv fwd (8x16 -> 48)", "linear fc proj bwd", "lm head fwd (8x16 -> 32)",
                    "cross-entropy fwd", "cross-entropy bwd", "attention fwd causal (1x2x8x8)", "attention bwd causal",
                    "gelu fwd (512)", "gelu bwd", "adamw (256 params)", "sum of squares (grad norm)", "zero grads"] {
            guard let line = run.lines.first(where: { $0.hasPrefix(row) }) else { XCTFail("no row \(row): \(run.output)"); continue }
            XCTAssertTrue(line.hasSuffix("GB/s") || line.hasSuffix("GFLOP/s"), line)
        }
    }

    func testBadFlagsAreOneLineNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["--heads", "5"], "--heads 5 does not divide --channels 768"),
            (["--clock", "cpu"], "--clock cpu is not wall or thread-cpu"),
            (["--clock", "thread-cpu", "--threads", "2"], "--clock thread-cpu needs --threads 1"),
        ]
        for (flags, message) in cases {
            let run = try ProcessRunner.pretrain(["bench", "kernels"] + flags)
            XCTAssertNotEqual(run.status, 0, "\(flags)")
            XCTAssertEqual(run.lines.count, 1, "\(flags): one line, no stack trace: \(run.output)")
            XCTAssertTrue(run.output.contains(message), "\(flags): \(run.output)")
        }
    }
}
