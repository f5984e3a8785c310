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
    private func checkAgainstInProcess(ranks: Int) throws {
        let run = try ProcessRunner.mpirun(ranks, ["selftest", "comm"])
        XCTAssertEqual(run.status, 0, run.output)
        guard let report = Self.parseReport(run) else { return XCTFail("no summary line in:\n\(run.output)") }
        XCTAssertEqual(report.failed, 0, run.output)
        XCTAssertEqual(report.passed, report.checks.count, "one PASS line per passed check")
        XCTAssertTrue(run.output.contains("selftest comm: \(ranks) ranks (mpi"), run.output)
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

    func testOneRankMatchesInProcess() throws { try checkAgainstInProcess(ranks: 1) }

    func testTwoRanksMatchInProcess() throws { try checkAgainstInProcess(ranks: 2) }

    func testFourRanksMatchInProcess() throws { try checkAgainstInProcess(ranks: 4) }

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
