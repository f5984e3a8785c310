import Distributed
import Foundation
import XCTest

/// The stall watchdog: heartbeat files, the diagnosis, and a real stall between in-process ranks.
final class WatchdogTests: XCTestCase {
    func record(_ seq: UInt64, _ op: CommOperation, _ type: CommDataType? = .float32, _ count: Int = 1, at wall: Double = 100) -> CollectiveRecord {
        CollectiveRecord(sequence: seq, wallTime: wall, operation: op, dataType: type, count: count)
    }

    func temporaryDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "heartbeat-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func testDiagnosisNamesMissingAndDivergedRanks() {
        let stalled = record(7, .allreduce, .float32, 1, at: 110)
        let beats: [[CollectiveRecord]?] = [
            [record(6, .allreduce, .float32, 500), stalled],             // rank 0: the stalled rank itself
            [record(5, .allreduce, .float32, 500), record(6, .allreduce, .float32, 500, at: 104)],  // behind
            [record(6, .allreduce, .float32, 500), record(7, .allgatherv, .int64, 1)],              // diverged
            [record(6, .allreduce, .float32, 500), record(7, .allreduceAsync, .float32, 1)],        // arrived
            nil,                                                                                    // never started
        ]
        let report = StallReport.diagnose(rank: 0, stalled: stalled, waitedSeconds: 5, heartbeats: beats, now: 112)
        XCTAssertEqual(report.notArrived, [1, 4])
        XCTAssertEqual(report.diverged, [2])
        XCTAssertTrue(report.message.contains("rank 1 has not arrived (its last collective was #6 allreduce(float32 × 500), 8.0 s ago)"), report.message)
        XCTAssertTrue(report.message.contains("rank 2 issued #7 allgatherv(int64 × 1) instead"), report.message)
        XCTAssertTrue(report.message.contains("rank 4 has no heartbeat"), report.message)
        XCTAssertFalse(report.message.contains("rank 3"), "rank 3 is in the same collective: " + report.message)

        let everyone = StallReport.diagnose(rank: 1, stalled: stalled, waitedSeconds: 5, heartbeats: [[stalled], [stalled]], now: 112)
        XCTAssertTrue(everyone.blamed.isEmpty)
        XCTAssertTrue(everyone.message.contains("every rank has entered it"), everyone.message)
    }

    /// A rank stopped inside the collective has "entered" it too: its process state names it, and the
    /// report no longer blames the transport (issue 22, point 4).
    func testAStoppedOrExitedRankIsNamedEvenWhenItEnteredTheCollective() throws {
        let stalled = record(7, .allreduce, .float32, 1, at: 110)
        let report = StallReport.diagnose(rank: 0, stalled: stalled, waitedSeconds: 20, heartbeats: [[stalled], [stalled], [stalled]],
                                          trouble: [2: "is stopped (pid 42, state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it"], now: 112)
        XCTAssertEqual(report.blamed, [2])
        XCTAssertEqual(report.message, "collective #7 allreduce(float32 × 1) has not completed on rank 0 after 20.0 s: "
                       + "rank 2 is stopped (pid 42, state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it")

        // The process states themselves, read from /proc for a real child.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        let pid = child.processIdentifier
        XCTAssertNil(HeartbeatFile.trouble(pid: pid), "a sleeping process is fine")
        kill(pid, SIGSTOP)
        var stopped: String?
        for _ in 0..<200 where stopped == nil { usleep(10_000); stopped = HeartbeatFile.trouble(pid: pid) }
        XCTAssertEqual(stopped, "is stopped (pid \(pid), state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it")
        kill(pid, SIGKILL)
        child.waitUntilExit()
        XCTAssertEqual(HeartbeatFile.trouble(pid: pid), "has exited (pid \(pid) is gone)")
    }

    func testHeartbeatHeaderNamesTheWritingProcessAndHost() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try HeartbeatFile(directory: dir, rank: 3, jobToken: 99)
        let writer = try XCTUnwrap(HeartbeatFile.writer(directory: dir, rank: 3, jobToken: 99))
        XCTAssertEqual(writer.pid, getpid())
        XCTAssertEqual(writer.host, HeartbeatFile.hostToken)
        XCTAssertNil(HeartbeatFile.writer(directory: dir, rank: 3, jobToken: 98), "another job's file")
        _ = file
    }

    func testHeartbeatFilesRoundTripAndIgnoreOtherJobs() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = try HeartbeatFile(directory: dir, rank: 3, jobToken: 42)
        XCTAssertEqual(HeartbeatFile.read(directory: dir, rank: 3, jobToken: 42), [], "a fresh file holds no collective")
        let written = (1...70).map { record(UInt64($0), $0 % 2 == 0 ? .allreduceAsync : .broadcast, .bfloat16, $0 * 1000, at: Double($0)) }
        for r in written { file.publish(r) }
        let read = HeartbeatFile.read(directory: dir, rank: 3, jobToken: 42)
        XCTAssertEqual(read, Array(written.suffix(HeartbeatFile.ringSize)), "the ring keeps the newest \(HeartbeatFile.ringSize)")
        XCTAssertNil(HeartbeatFile.read(directory: dir, rank: 3, jobToken: 43), "another job's file is stale")
        XCTAssertNil(HeartbeatFile.read(directory: dir, rank: 4, jobToken: 42), "no file, no heartbeat")
        XCTAssertNotEqual(HeartbeatFile.launcherJobToken(environment: ["PMIX_NAMESPACE": "1"]),
                          HeartbeatFile.launcherJobToken(environment: ["PMIX_NAMESPACE": "2"]))
        XCTAssertEqual(HeartbeatFile.launcherJobToken(environment: [:]), 0)
    }

    func testWatchdogNamesTheRankThatNeverArrives() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reports = Reports()
        let start = Date()
        XCTAssertThrowsError(try InProcessGroup.run(size: 3) { comm -> Int in
            let heartbeat = try HeartbeatFile(directory: dir, rank: comm.rank, jobToken: 7)
            let watched = WatchdogCommunicator(wrapping: comm, timeout: 0.4, heartbeat: heartbeat) { report in
                reports.append(report, after: Date().timeIntervalSince(start))
                comm.group.abort(reason: "watchdog: \(report.message)")
            }
            defer { watched.stop() }
            var x: [Float] = [Float(comm.rank)]
            for _ in 0..<3 { try watched.allreduce(&x, op: .sum) }
            if comm.rank == 2 { Thread.sleep(forTimeInterval: 2) }  // stuck in "compute"
            try watched.allreduce(&x, op: .sum)
            return 0
        }) { error in
            XCTAssertTrue("\(error)".contains("has not arrived"), "the ranks end with the watchdog's reason: \(error)")
        }
        let (first, when) = try XCTUnwrap(reports.all.first)
        XCTAssertLessThan(when, 1.5, "the watchdog fires soon after its 0.4 s timeout")
        XCTAssertEqual(first.notArrived, [2], first.message)
        XCTAssertEqual(first.stalled.sequence, 4)
        XCTAssertTrue(first.message.contains("rank 2 has not arrived (its last collective was #3 allreduce(float32 × 1)"), first.message)
        XCTAssertGreaterThanOrEqual(first.waitedSeconds, 0.4)
    }

    func testNoReportWhileCollectivesComplete() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reports = Reports()
        _ = try InProcessGroup.run(size: 2) { comm -> Int in
            let watched = WatchdogCommunicator(wrapping: comm, timeout: 0.3, heartbeat: try HeartbeatFile(directory: dir, rank: comm.rank, jobToken: 1)) {
                reports.append($0, after: 0)
            }
            defer { watched.stop() }
            var x = [Float](repeating: 1, count: 1000)
            try x.withUnsafeMutableBufferPointer { buffer in
                for _ in 0..<5 {
                    let requests = (0..<4).map { watched.allreduceAsync(UnsafeMutableBufferPointer(rebasing: buffer[($0 * 250)..<($0 * 250 + 250)]), op: .sum) }
                    try CommRequest.waitAll(requests)
                    Thread.sleep(forTimeInterval: 0.2)  // compute between collectives does not count
                }
            }
            XCTAssertEqual(watched.issuedCount, 20)
            return 0
        }
        XCTAssertTrue(reports.all.isEmpty, "\(reports.all.map(\.0.message))")
    }

    /// Reports collected from watchdog threads.
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var reports: [(StallReport, Double)] = []
        func append(_ r: StallReport, after seconds: Double) { lock.lock(); reports.append((r, seconds)); lock.unlock() }
        var all: [(StallReport, Double)] { lock.lock(); defer { lock.unlock() }; return reports }
    }
}
