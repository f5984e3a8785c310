import TestSupport
import XCTest

/// `pretrain bench allreduce`: bad flags are one line each; `--bucket-bytes` adds the bucketed column.
final class BenchAllreduceCommandTests: XCTestCase {
    func testBadFlagsAreOneLineNamingTheFlag() throws {
        let cases: [([String], String)] = [
            (["--min-bytes", "6"], "--min-bytes must be a positive multiple of 4"),
            (["--bucket-bytes", "6"], "--bucket-bytes must be 0 (off) or a positive multiple of 4, got 6"),
            (["--bucket-bytes=-4"], "--bucket-bytes must be 0 (off) or a positive multiple of 4, got -4"),
        ]
        for (flags, message) in cases {
            let run = try ProcessRunner.pretrain(["bench", "allreduce"] + flags)
            XCTAssertNotEqual(run.status, 0, "\(flags)")
            XCTAssertEqual(run.lines.count, 1, "\(flags): one line, no stack trace: \(run.output)")
            XCTAssertTrue(run.output.contains(message), "\(flags): \(run.output)")
        }
    }

    /// Two ranks, one 64 KiB size in buckets of 16 KiB: a fourth column with a time and bandwidths.
    func testBucketBytesAddsTheBucketedColumn() throws {
        let run = try ProcessRunner.mpirun(2, ["bench", "allreduce", "--min-bytes", "65536", "--max-bytes", "65536",
                                               "--iterations", "2", "--warmup", "1", "--bucket-bytes", "16384"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("buckets of 16 KiB, blocking"), run.output)
        guard let row = run.lines.first(where: { $0.hasPrefix("   64 KiB") }) else { return XCTFail(run.output) }
        let columns = row.split(separator: "|").dropFirst().map { $0.split(separator: " ").compactMap { Double($0) } }
        XCTAssertEqual(columns.count, 4, row)
        for column in columns {
            XCTAssertEqual(column.count, 3, row)
            XCTAssertTrue(column.allSatisfy { $0 > 0 }, row)
        }
    }
}
