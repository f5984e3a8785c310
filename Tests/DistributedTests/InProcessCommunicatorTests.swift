import Foundation
import XCTest
import Distributed

/// The in-process test double: every operation against values computed here, independently.
final class InProcessCommunicatorTests: XCTestCase {
    /// Element i of rank r's input in these tests: small integers, so float sums are exact.
    private func input(_ i: Int, _ r: Int) -> Int { (i * 7 + r * 13) % 23 - 11 }

    func testAllreduceEveryOpAgainstIndependentValues() throws {
        for n in 1...4 {
            let count = 37
            let results = try InProcessGroup.run(size: n) { comm -> [ReduceOp: [Float]] in
                var out: [ReduceOp: [Float]] = [:]
                for op in ReduceOp.allCases {
                    var x = (0..<count).map { Float(self.input($0, comm.rank)) }
                    try comm.allreduce(&x, op: op)
                    out[op] = x
                }
                return out
            }
            for i in 0..<count {
                let column = (0..<n).map { input(i, $0) }
                let expected: [ReduceOp: Float] = [
                    .sum: Float(column.reduce(0, +)),
                    .average: Float(column.reduce(0, +)) / Float(n),
                    .max: Float(column.max()!),
                    .min: Float(column.min()!),
                ]
                for (rank, result) in results.enumerated() {
                    for op in ReduceOp.allCases {
                        XCTAssertEqual(result[op]![i], expected[op]!, "n=\(n) rank \(rank) op \(op) element \(i)")
                    }
                }
            }
        }
    }

    func testFloatSumsCombineRanksInRankOrder() throws {
        // Rounding makes the order visible: ((1e8 + 1) + -1e8) + 1 = 1 in Float, other orders differ.
        let values: [Float] = [1e8, 1, -1e8, 1]
        let expected = ((values[0] + values[1]) + values[2]) + values[3]
        let results = try InProcessGroup.run(size: 4) { comm in try comm.allreduce(values[comm.rank], op: .sum) }
        XCTAssertEqual(results, [Float](repeating: expected, count: 4))
        XCTAssertNotEqual(expected, values.reduce(0, +) + 1, "the inputs must make order matter")
    }

    func testIntegerSumsWrapLikeMPI() throws {
        let results = try InProcessGroup.run(size: 3) { comm -> [UInt8] in
            var x: [UInt8] = [200, 255, UInt8(comm.rank)]
            try comm.allreduce(&x, op: .sum)
            return x
        }
        let expected: [UInt8] = [UInt8((200 * 3) % 256), UInt8((255 * 3) % 256), UInt8(0 + 1 + 2)]
        XCTAssertEqual(results, [expected, expected, expected])
    }

    func testBroadcastFromLastRank() throws {
        for n in 1...4 {
            let results = try InProcessGroup.run(size: n) { comm -> [Int32] in
                var x = (0..<9).map { Int32(self.input($0, comm.rank)) }
                try comm.broadcast(&x, root: n - 1)
                return x
            }
            let expected = (0..<9).map { Int32(input($0, n - 1)) }
            XCTAssertEqual(results, Array(repeating: expected, count: n), "n=\(n)")
        }
    }

    func testAllgathervWithUnevenAndEmptyBlocks() throws {
        let n = 4
        let counts = [3, 0, 5, 1]
        let results = try InProcessGroup.run(size: n) { comm -> [Double] in
            let mine = (0..<counts[comm.rank]).map { Double(self.input($0, comm.rank)) }
            return try comm.allgatherv(mine, counts: counts)
        }
        var expected: [Double] = []
        for r in 0..<n { expected += (0..<counts[r]).map { Double(input($0, r)) } }
        XCTAssertEqual(results, Array(repeating: expected, count: n))
    }

    func testReduceScatterGivesEachRankItsBlock() throws {
        let n = 3
        let counts = [4, 0, 6]
        let total = counts.reduce(0, +)
        for op in [ReduceOp.sum, .average, .max] {
            let results = try InProcessGroup.run(size: n) { comm -> [Float] in
                let send = (0..<total).map { Float(self.input($0, comm.rank)) }
                return try comm.reduceScatter(send, counts: counts, op: op)
            }
            var offset = 0
            for r in 0..<n {
                let expected = (offset..<(offset + counts[r])).map { i -> Float in
                    let column = (0..<n).map { input(i, $0) }
                    switch op {
                    case .sum: return Float(column.reduce(0, +))
                    case .average: return Float(column.reduce(0, +)) / Float(n)
                    default: return Float(column.max()!)
                    }
                }
                XCTAssertEqual(results[r], expected, "op \(op) rank \(r)")
                offset += counts[r]
            }
        }
    }

    func testAsyncAllreducesKeepIssueOrderWithSyncCalls() throws {
        let n = 3
        let results = try InProcessGroup.run(size: n) { comm -> [[Int64]] in
            var a = (0..<1000).map { Int64(self.input($0, comm.rank)) }
            var b = [Int64(comm.rank + 1)]
            var c = (0..<10).map { Int64($0 * (comm.rank + 1)) }
            try a.withUnsafeMutableBufferPointer { pa in
                try c.withUnsafeMutableBufferPointer { pc in
                    let ra = comm.allreduceAsync(pa, op: .sum)
                    try comm.allreduce(&b, op: .max)  // must run after `ra` on every rank
                    let rc = comm.allreduceAsync(pc, op: .min)
                    try rc.wait()
                    try ra.wait()
                }
            }
            return [a, b, c]
        }
        let expectedA = (0..<1000).map { i in Int64((0..<n).map { input(i, $0) }.reduce(0, +)) }
        for result in results {
            XCTAssertEqual(result[0], expectedA)
            XCTAssertEqual(result[1], [Int64(n)])
            XCTAssertEqual(result[2], (0..<10).map { Int64($0) })
        }
    }

    func testAverageOfIntegersIsRejectedBeforeCommunicating() throws {
        _ = try InProcessGroup.run(size: 2) { comm in
            var x: [Int32] = [1, 2]
            XCTAssertThrowsError(try comm.allreduce(&x, op: .average)) { error in
                guard case .unsupported(let op, let message)? = error as? CommunicatorError else {
                    return XCTFail("wrong error \(error)")
                }
                XCTAssertEqual(op, "allreduce")
                XCTAssertTrue(message.contains("floating-point"), message)
            }
            try x.withUnsafeMutableBufferPointer { p in
                XCTAssertThrowsError(try comm.allreduceAsync(p, op: .average).wait())
            }
            // The group is still in step: a real collective afterwards works.
            XCTAssertEqual(try comm.allreduce(Int32(1), op: .sum), 2)
        }
    }

    func testBadRootAndMismatchedCallsThrowOnEveryRank() throws {
        let errors = try InProcessGroup.run(size: 2) { comm -> [String] in
            var messages: [String] = []
            var x: [Float] = [1, 2, 3]
            do { try comm.broadcast(&x, root: 7) } catch { messages.append("\(error)") }
            var y = [Float](repeating: 1, count: comm.rank == 0 ? 3 : 4)  // ranks disagree on the count
            do { try comm.allreduce(&y, op: .sum) } catch { messages.append("\(error)") }
            return messages
        }
        for messages in errors {
            XCTAssertEqual(messages.count, 2, "\(messages)")
            XCTAssertTrue(messages[0].contains("broadcast") && messages[0].contains("root 7"), messages[0])
            XCTAssertTrue(messages[1].contains("ranks disagree") && messages[1].contains("count 3")
                          && messages[1].contains("count 4"), messages[1])
        }
    }

    func testWrongBufferLengthsAreRejectedWithAHint() throws {
        let messages = try InProcessGroup.run(size: 2) { comm -> [String] in
            let send = [Float](repeating: 0, count: 2)
            var seen: [String] = []
            do { _ = try comm.allgatherv(send, counts: [2]) } catch { seen.append("\(error)") }
            // Only rank 0's arguments are wrong here (it sends 2 elements, counts[0] says 1); rank 1
            // must learn that instead of waiting forever for rank 0.
            do { _ = try comm.allgatherv(send, counts: [1, 2]) } catch { seen.append("\(error)") }
            return seen
        }
        for (rank, seen) in messages.enumerated() {
            XCTAssertEqual(seen.count, 2, "rank \(rank): \(seen)")
            XCTAssertTrue(seen[0].contains("one per rank (2)"), seen[0])
        }
        XCTAssertTrue(messages[0][1].contains("send has 2 elements but counts[0] is 1"), messages[0][1])
        XCTAssertTrue(messages[1][1].contains("rank 0's arguments were invalid"), messages[1][1])
    }

    func testAFailingRankAbortsTheOthersInsteadOfHanging() {
        struct RankFailed: Error {}
        XCTAssertThrowsError(try InProcessGroup.run(size: 3) { comm in
            if comm.rank == 1 { throw RankFailed() }
            try comm.barrier()  // would wait forever for rank 1 without the abort
        }) { error in
            XCTAssertTrue(error is RankFailed, "the primary error is rethrown, not an abort echo: \(error)")
        }
    }

    func testLocalRanksFollowRanksPerHost() throws {
        let layout = try InProcessGroup.run(size: 5, ranksPerHost: 2) { comm in [comm.localRank, comm.localSize] }
        XCTAssertEqual(layout, [[0, 2], [1, 2], [0, 2], [1, 2], [0, 1]])
    }

    func testShutdownIsIdempotentAndLaterCallsThrow() throws {
        let group = InProcessGroup(size: 1)
        let comm = group.communicator(rank: 0)
        XCTAssertEqual(try comm.allreduce(Float(3), op: .sum), 3)
        try comm.shutdown()
        try comm.shutdown()
        XCTAssertThrowsError(try comm.barrier()) { error in
            XCTAssertEqual(error as? CommunicatorError, .shutDown(operation: "barrier"))
        }
    }

    func testSelfTestSuitePassesForOddGroupSizes() throws {
        for n in [1, 3] {
            let perRank = try InProcessGroup.run(size: n) { comm in
                try CommSelfTest(sizes: [0, 1, 7, 1003]).run(on: comm)
            }
            for results in perRank {
                XCTAssertGreaterThan(results.count, 40)
                for result in results { XCTAssertTrue(result.passed, "n=\(n): \(result.line) \(result.localDetail ?? "")") }
            }
            XCTAssertEqual(perRank.map { $0.map(\.digest) }, Array(repeating: perRank[0].map(\.digest), count: n),
                           "every rank agrees on the combined digests")
        }
    }
}
