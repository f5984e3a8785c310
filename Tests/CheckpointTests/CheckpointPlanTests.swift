import Checkpoint
import XCTest

/// Even ranges tile the buffer exactly; segments list params, then m, then v.
final class CheckpointPlanTests: XCTestCase {
    func testEvenRangesTileTheBufferWithSizesDifferingByAtMostOne() {
        for count in [0, 1, 7, 16, 1000, 1001] {
            for parts in 1...7 {
                let ranges = (0..<parts).map { CheckpointPlan.evenRange(count: count, parts: parts, index: $0) }
                XCTAssertEqual(ranges.first?.lowerBound, 0)
                XCTAssertEqual(ranges.last?.upperBound, count)
                for (a, b) in zip(ranges, ranges.dropFirst()) { XCTAssertEqual(a.upperBound, b.lowerBound) }
                let sizes = ranges.map(\.count)
                XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "\(count) over \(parts)")
            }
        }
    }

    func testSegmentsAreParamsThenMThenV() {
        let s = CheckpointPlan.segments(rank: 1, worldSize: 3, count: 10, moments: [0..<2, 5..<5, 6..<8])
        XCTAssertEqual(s.map(\.buffer), [.params, .m, .m, .v, .v])
        XCTAssertEqual(s.map(\.range), [4..<7, 0..<2, 6..<8, 0..<2, 6..<8], "sizes 4, 3, 3: the first count % parts ranges are one longer")
        XCTAssertEqual(CheckpointPlan.segments(rank: 0, worldSize: 1, count: 10, moments: nil).map(\.range), [0..<10])
        XCTAssertEqual(CheckpointPlan.shardFileName(rank: 3, worldSize: 8, method: .zstd), "rank-00003-of-00008.zst")
        XCTAssertEqual(CheckpointPlan.shardFileName(rank: 0, worldSize: 1, method: .none), "rank-00000-of-00001.f32")
    }
}
