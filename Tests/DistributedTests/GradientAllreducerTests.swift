import Distributed
import XCTest

/// Buckets, boundaries and launching each bucket as soon as all of it is ready, in any order.
final class GradientAllreducerTests: XCTestCase {
    func testBucketsAreCutFromTheTopAndAtEveryBoundary() throws {
        _ = try InProcessGroup.run(size: 1) { comm in
            var grads = [Float](repeating: 0, count: 100)
            try grads.withUnsafeMutableBufferPointer { g in
                let plain = try GradientAllreducer(comm: comm, buffer: g.baseAddress!, count: 100, bucketElements: 30)
                XCTAssertEqual(plain.buckets, [70..<100, 40..<70, 10..<40, 0..<10])
                let cut = try GradientAllreducer(comm: comm, buffer: g.baseAddress!, count: 100, bucketElements: 30, boundaries: [0, 45, 100])
                XCTAssertEqual(cut.buckets, [70..<100, 45..<70, 15..<45, 0..<15], "no bucket straddles 45")
            }
        }
    }

    func testABucketLeavesWhenAllOfItIsReadyWhateverTheOrder() throws {
        let count = 100
        let results = try InProcessGroup.run(size: 2) { comm -> ([Float], [Int], [Int]) in
            let counted = InstrumentedCommunicator(wrapping: comm)
            var grads = (0..<count).map { Float($0) + Float(comm.rank) * 0.5 }
            var order: [Int] = []
            var launchedAfter: [Int] = []
            try grads.withUnsafeMutableBufferPointer { g in
                let reducer = try GradientAllreducer(comm: counted, buffer: g.baseAddress!, count: count, bucketElements: 30,
                                                 boundaries: [45], op: .sum)
                reducer.onBucketFinished = { index, _, _, _, _ in order.append(index) }
                reducer.begin()
                // The bottom first (as a tied embedding finished by the head), in two pieces.
                reducer.markReady(0..<10)
                launchedAfter.append(counted.stats.calls(.allreduceAsync))   // 0..<15 not complete yet
                reducer.markReady(10..<45)
                launchedAfter.append(counted.stats.calls(.allreduceAsync))   // 0..<15 and 15..<45
                reducer.markReady(70..<100)
                launchedAfter.append(counted.stats.calls(.allreduceAsync))   // and 70..<100
                reducer.markReady(45..<70)
                launchedAfter.append(counted.stats.calls(.allreduceAsync))   // all four
                _ = try reducer.finish()
            }
            return (grads, order, launchedAfter)
        }
        for (grads, order, launchedAfter) in results {
            XCTAssertEqual(launchedAfter, [0, 2, 3, 4])
            XCTAssertEqual(order, [2, 3, 0, 1], "finished in the order they left: 15..<45 and 0..<15 (highest first), 70..<100, 45..<70")
            XCTAssertEqual(grads, (0..<count).map { 2 * Float($0) + 0.5 }, "every element summed once")
        }
    }

    func testFinishSendsWhatWasNeverReported() throws {
        let results = try InProcessGroup.run(size: 2) { comm -> ([Float], Int) in
            let counted = InstrumentedCommunicator(wrapping: comm)
            var grads = [Float](repeating: Float(comm.rank + 1), count: 50)
            try grads.withUnsafeMutableBufferPointer { g in
                let reducer = try GradientAllreducer(comm: counted, buffer: g.baseAddress!, count: 50, bucketElements: 20, op: .average)
                reducer.begin()
                reducer.markReady(30..<40)
                XCTAssertEqual(counted.stats.calls(.allreduceAsync), 0, "30..<50 is not complete")
                _ = try reducer.finish()
            }
            return (grads, counted.stats.calls(.allreduceAsync))
        }
        for (grads, calls) in results {
            XCTAssertEqual(calls, 3)
            XCTAssertEqual(grads, [Float](repeating: 1.5, count: 50))
        }
    }
}
