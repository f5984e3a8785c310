import Foundation
import XCTest
import Distributed
import TestSupport

/// `MPICommunicator` in real MPI jobs: the tests launch `mpirun -n 1/2/4 pretrain selftest comm`
/// (the binary built next to this test bundle, found and launched by `ProcessRunner`) and check its
/// report, and compare its result digests with the same suite run on `InProcessCommunicator` here.
final class MPICommunicatorTests: XCTestCase {
    /// name → digest (nil for "-") for every PASS/FAIL line, plus the final counts.
    static func parseReport(_ run: ProcessRunner.Run) -> (checks: [String: String?], passed: Int, failed: Int)? {
        var checks: [String: String?] = [:]
        var summary: (Int, Int)?
        for line in run.lines {
            if line.hasPrefix("PASS  ") || line.hasPrefix("FAIL  "), let range = line.range(of: "  digest=") {
                let name = line[line.index(line.startIndex, offsetBy: 6)..<range.lowerBound]
                    .trimmingCharacters(in: .whitespaces)
                let digest = line[range.upperBound...].split(separator: " ").first.map(String.init) ?? "-"
                checks[name] = digest == "-" ? nil : digest
            }
            let words = line.split(separator: " ")
            if words.count == 4, words[1] == "passed,", words[3] == "failed", let p = Int(words[0]), let f = Int(words[2]) {
                summary = (p, f)
            }
        }
        guard let summary else { return nil }
        return (checks, summary.0, summary.1)
    }

    /// Runs the self-test under mpirun with `ranks` ranks and in process with as many threads, and
    /// requires: exit status 0, every check passed, MPI's error named MPI_Bcast, identical digests.
    /// `transport` is the large-sum path the run must report (so that the digests below really test it).
    /// `progressive` is what the run must report for progressive sums ("single-node" or "none"); its
    /// two checks then ran on that path, and the fractional one's digest equals the in-process sum.
    private func checkAgainstInProcess(ranks: Int, transport: String, progressive: String = "none",
                                       environment: [String: String] = [:]) throws {
        let run = try ProcessRunner.mpirun(ranks, ["selftest", "comm"], environment: environment)
        XCTAssertEqual(run.status, 0, run.output)
        guard let report = Self.parseReport(run) else { return XCTFail("no summary line in:\n\(run.output)") }
        XCTAssertEqual(report.failed, 0, run.output)
        XCTAssertEqual(report.passed, report.checks.count, "one PASS line per passed check")
        XCTAssertTrue(run.output.contains("selftest comm: \(ranks) ranks (mpi"), run.output)
        XCTAssertTrue(run.output.contains("large float32 sums via \(transport), progressive sums: \(progressive)"), run.output)
        if progressive != "none" {
            let early = run.lines.first { $0.contains("the rank done first sums every piece") } ?? ""
            XCTAssertTrue(early.hasPrefix("PASS") && early.contains("rank 0 summed 16 of 16 pieces"), early)
        }
        let badRoot = run.lines.first { $0.contains("raises an error naming the call") } ?? ""
        XCTAssertTrue(badRoot.contains("MPI_Bcast failed") && badRoot.contains("MPI_ERR_ROOT"), badRoot)

        let local = try InProcessGroup.run(size: ranks) { comm in try CommSelfTest().run(on: comm) }[0]
        XCTAssertEqual(Set(local.map(\.name)), Set(report.checks.keys), "both backends ran the same checks")
        var compared = 0
        for result in local {
            XCTAssertTrue(result.passed, "in-process: \(result.line)")
            guard let digest = result.digest, let mpiDigest = report.checks[result.name] else { continue }
            XCTAssertEqual(String(format: "%016llx", digest), mpiDigest,
                           "\(result.name): MPI and in-process results differ")
            compared += 1
        }
        XCTAssertGreaterThan(compared, 40, "most checks are bitwise deterministic and must be compared")
    }

    private static let singleNode = "single-node (cross-memory attach)"

    func testOneRankMatchesInProcess() throws { try checkAgainstInProcess(ranks: 1, transport: "MPI_Allreduce") }

    /// Ranks on one host sum large float32 buffers through `SingleNodeAllreduce`, bit for bit as in process.
    func testTwoRanksMatchInProcess() throws {
        try checkAgainstInProcess(ranks: 2, transport: Self.singleNode, progressive: "single-node")
    }

    /// Four ranks: parts of 1,000,003 and 16 Mi elements that do not divide evenly, several pieces each.
    func testFourRanksMatchInProcess() throws {
        try checkAgainstInProcess(ranks: 4, transport: Self.singleNode, progressive: "single-node")
    }

    /// `PRETRAIN_PROGRESSIVE_SUM=0` leaves large sums on the single-node path but sums gradients after
    /// backward with one plain call: same digests.
    func testProgressiveSumCanBeTurnedOff() throws {
        try checkAgainstInProcess(ranks: 2, transport: Self.singleNode, progressive: "none",
                                  environment: ["PRETRAIN_PROGRESSIVE_SUM": "0"])
    }

    /// `PRETRAIN_SINGLE_NODE_ALLREDUCE=0` falls back to `MPI_Allreduce`, with the same results.
    func testThreeRanksWithMPIAllreduceMatchInProcess() throws {
        try checkAgainstInProcess(ranks: 3, transport: "MPI_Allreduce", environment: ["PRETRAIN_SINGLE_NODE_ALLREDUCE": "0"])
    }

    /// Three ranks through the single-node path: the reduce phase sums in rank order whichever rank owns
    /// the part, so fractional values (whose rounding depends on the order) still match in process, in
    /// the allreduce, the progressive sum and the reduce-scatter; a small float64 sum (gathered, then
    /// added in rank order) matches too.
    func testThreeRanksSumFractionsInRankOrder() throws {
        let run = try ProcessRunner.mpirun(3, ["selftest", "comm", "--sizes", "200003", "--fractional"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("large float32 sums via \(Self.singleNode)"), run.output)
        guard let report = Self.parseReport(run) else { return XCTFail("no summary line in:\n\(run.output)") }
        let local = try InProcessGroup.run(size: 3) { comm in try CommSelfTest(sizes: [200_003], fractional: true).run(on: comm) }[0]
        XCTAssertTrue(run.output.contains("progressive sums: single-node"), run.output)
        let blocks = (0..<3).map { $0 == 1 ? 0 : 250_000 + 7_919 * $0 }   // CommSelfTest's large counts
        for name in ["allreduce float32 sum n=200003 fractional", "progressive sum float32 n=1000003 fractional, ranks at different speeds",
                     "reduceScatter float32 sum counts=\(blocks) fractional", "allreduce float64 sum n=7 fractional"] {
            guard let mine = local.first(where: { $0.name == name })?.digest, let theirs = report.checks[name] ?? nil else {
                return XCTFail("no digest for \(name):\n\(run.output)")
            }
            XCTAssertEqual(String(format: "%016llx", mine), theirs, "\(name)\n\(run.output)")
        }
    }

    func testRunsAsASingleProcessWithoutMPIRun() throws {
        let run = try ProcessRunner.pretrain(["selftest", "comm", "--sizes", "0", "7"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("selftest comm: 1 ranks (mpi"), run.output)
        XCTAssertEqual(Self.parseReport(run)?.failed, 0, run.output)
    }

    func testWrongResultsAreReportedAndFailTheRun() throws {
        let run = try ProcessRunner.mpirun(2, ["selftest", "comm", "--sizes", "7", "--corrupt-rank", "1"])
        XCTAssertNotEqual(run.status, 0, "a corrupted rank must make the self-test fail:\n\(run.output)")
        guard let report = Self.parseReport(run) else { return XCTFail("no summary line in:\n\(run.output)") }
        XCTAssertGreaterThan(report.failed, 10, run.output)
        let failLines = run.lines.filter { $0.hasPrefix("FAIL  ") }
        XCTAssertEqual(failLines.count, report.failed)
        XCTAssertTrue(failLines.allSatisfy { $0.contains("failed on ranks [1]") }, failLines.joined(separator: "\n"))
        XCTAssertTrue(run.output.contains("rank 1: allreduce float32 sum n=7: element 0 of 7"), run.output)
    }
}
