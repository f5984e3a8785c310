import Foundation
import XCTest
import Distributed

/// The issue-order queue behind every communicator (`CommQueue`), observed through the public API:
/// FIFO across sync and async calls, work off the caller's thread, errors in `wait`, clean shutdown.
/// (No `@testable`: `make test` builds the tests without testability.)
final class CommQueueTests: XCTestCase {
    /// A one-rank communicator whose every operation first sleeps `delay` seconds.
    private func slowCommunicator(delay: TimeInterval) -> InstrumentedCommunicator {
        InstrumentedCommunicator(wrapping: InProcessGroup(size: 1).communicator(rank: 0), delayPerCall: delay)
    }

    func testAsyncReturnsAtOnceAndASyncCallWaitsForEarlierAsyncCalls() throws {
        let comm = slowCommunicator(delay: 0.1)
        var a = [Float](repeating: 1, count: 8)
        var b = [Float](repeating: 2, count: 8)
        try a.withUnsafeMutableBufferPointer { pa in
            try b.withUnsafeMutableBufferPointer { pb in
                let issued = Date()
                let first = comm.allreduceAsync(pa, op: .sum)
                let second = comm.allreduceAsync(pb, op: .max)
                XCTAssertLessThan(Date().timeIntervalSince(issued), 0.1, "async calls must not run on the caller (inline: ≥ 0.2 s)")
                XCTAssertFalse(first.isComplete)
                var c: [Float] = [3]
                try comm.allreduce(&c, op: .sum)  // issued third: runs only after both async calls
                XCTAssertTrue(first.isComplete && second.isComplete, "a sync call must wait for earlier async calls")
                XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(issued), 0.3)
                try CommRequest.waitAll([second, first])
            }
        }
        XCTAssertEqual(a, [Float](repeating: 1, count: 8))
        XCTAssertEqual(b, [Float](repeating: 2, count: 8))
        try comm.shutdown()
    }

    func testAsyncErrorsSurfaceInWaitAndLaterWorkStillRuns() throws {
        let comm = InProcessGroup(size: 1).communicator(rank: 0)
        var ints: [Int32] = [1, 2]
        var floats: [Float] = [4, 6]
        try ints.withUnsafeMutableBufferPointer { pi in
            try floats.withUnsafeMutableBufferPointer { pf in
                let failing = comm.allreduceAsync(pi, op: .average)
                let next = comm.allreduceAsync(pf, op: .average)
                XCTAssertThrowsError(try failing.wait()) { error in
                    guard case .unsupported? = error as? CommunicatorError else { return XCTFail("\(error)") }
                }
                XCTAssertThrowsError(try failing.wait(), "waiting twice reports the error twice")
                XCTAssertTrue(failing.isComplete)
                try next.wait()
            }
        }
        XCTAssertEqual(floats, [4, 6], "the average over one rank is the input")
        try comm.shutdown()
    }

    func testShutdownDrainsQueuedWorkThenRefusesNewWork() throws {
        let comm = slowCommunicator(delay: 0.02)
        var buffers = (0..<5).map { [Int64($0)] }
        let requests = (0..<5).map { i in
            buffers[i].withUnsafeMutableBufferPointer { comm.allreduceAsync($0, op: .sum) }
        }
        try comm.shutdown()
        XCTAssertTrue(requests.allSatisfy(\.isComplete), "shutdown finishes queued work first")
        try CommRequest.waitAll(requests)
        try comm.shutdown()  // idempotent
        var late: [Float] = [1]
        XCTAssertThrowsError(try comm.allreduce(&late, op: .sum)) { error in
            XCTAssertEqual(error as? CommunicatorError, .shutDown(operation: "allreduce"))
        }
        XCTAssertThrowsError(try late.withUnsafeMutableBufferPointer { try comm.allreduceAsync($0, op: .sum).wait() }) {
            XCTAssertEqual($0 as? CommunicatorError, .shutDown(operation: "allreduce"))
        }
    }
}
