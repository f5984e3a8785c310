import Foundation
import XCTest
import Distributed

/// Call counting and artificial slowness, as the data-parallel training tests will use them.
final class InstrumentedCommunicatorTests: XCTestCase {
    func testCountsCallsAndBytesPerOperation() throws {
        let stats = try InProcessGroup.run(size: 2) { base -> CommStats in
            let comm = InstrumentedCommunicator(wrapping: base)
            var floats = [Float](repeating: 1, count: 10)
            try comm.allreduce(&floats, op: .sum)
            try comm.allreduce(&floats, op: .max)
            try floats.withUnsafeMutableBufferPointer { try comm.allreduceAsync($0, op: .sum).wait() }
            var ints = [Int32](repeating: 2, count: 3)
            try comm.broadcast(&ints, root: 0)
            _ = try comm.allgatherv([Double(comm.rank)], counts: [1, 1])
            _ = try comm.reduceScatter([UInt16](repeating: 1, count: 6), counts: [2, 4], op: .sum)
            try comm.barrier()
            // 1 summed over 2 ranks is 2, the max keeps 2, the async sum makes 4: the base really ran.
            XCTAssertEqual(floats, [Float](repeating: 4, count: 10))
            let seen = comm.stats
            comm.resetStats()
            XCTAssertEqual(comm.stats, CommStats())
            return seen
        }
        for s in stats {
            XCTAssertEqual(s.calls(.allreduce), 2)
            XCTAssertEqual(s.bytes(.allreduce), 2 * 10 * 4)
            XCTAssertEqual(s.calls(.allreduceAsync), 1)
            XCTAssertEqual(s.bytes(.allreduceAsync), 40)
            XCTAssertEqual(s.calls(.broadcast), 1)
            XCTAssertEqual(s.bytes(.broadcast), 12)
            XCTAssertEqual(s.bytes(.allgatherv), 8)
            XCTAssertEqual(s.bytes(.reduceScatter), 12)
            XCTAssertEqual(s.calls(.barrier), 1)
            XCTAssertEqual(s.totalCalls, 7)
        }
    }

    func testNothingIssuedMeansNothingCounted() throws {
        let comm = InstrumentedCommunicator(wrapping: InProcessGroup(size: 1).communicator(rank: 0))
        XCTAssertEqual(comm.stats.totalCalls, 0)
        XCTAssertEqual(comm.stats.totalBytes, 0)
        try comm.shutdown()
    }

    func testDelayPerCallAndPerByteSlowSynchronousCalls() throws {
        let comm = InstrumentedCommunicator(wrapping: InProcessGroup(size: 1).communicator(rank: 0),
                                           delayPerCall: 0.05, delayPerByte: 0.1 / 4000)
        var x = [Float](repeating: 1, count: 1000)  // 4000 bytes: 0.05 + 0.1 seconds
        let start = Date()
        try comm.allreduce(&x, op: .sum)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.15)
        comm.setDelay(perCall: 0, perByte: 0)
        let fast = Date()
        try comm.allreduce(&x, op: .sum)
        XCTAssertLessThan(Date().timeIntervalSince(fast), 0.1)
        try comm.shutdown()
    }

    func testAsyncDelayOverlapsWithTheCallersWork() throws {
        let delay = 0.5
        let elapsed = try InProcessGroup.run(size: 2) { base -> Double in
            let comm = InstrumentedCommunicator(wrapping: base, delayPerCall: delay)
            var x = [Float](repeating: Float(comm.rank), count: 100)
            let start = Date()
            try x.withUnsafeMutableBufferPointer { buffer in
                let request = comm.allreduceAsync(buffer, op: .sum)
                Thread.sleep(forTimeInterval: delay)  // "compute" while the slow allreduce is in flight
                try request.wait()
            }
            XCTAssertEqual(x, [Float](repeating: 1, count: 100))
            return Date().timeIntervalSince(start)
        }
        for t in elapsed {
            XCTAssertGreaterThanOrEqual(t, delay)
            XCTAssertLessThan(t, 1.7 * delay, "compute and communication should overlap (serial would be \(2 * delay) s)")
        }
    }
}
