import Kernels
import XCTest

final class VectorMathTests: KernelTestCase {
    /// Σx² against a Double sum (rtol 1e-6), and bitwise the same for 1, 2 and 3 threads.
    func testSumOfSquares() {
        var rng = TestRNG(seed: 100)
        for count in [0, 1, 17, 1_000_003] {
            let x = rng.floatExact(count, -3...3)
            let expected = x.reduce(0) { $0 + $1 * $1 }
            let buf = Buf(doubles: x)
            var results: [Double] = []
            withThreadCounts([1, 2, 3]) { _ in results.append(VectorMath.sumOfSquares(buf.c, count: count)) }
            XCTAssertEqual(results[0], expected, accuracy: 1e-6 * max(expected, 1e-30), "count \(count)")
            XCTAssertEqual(results[0].bitPattern, results[1].bitPattern, "1 vs 2 threads, count \(count)")
            XCTAssertEqual(results[0].bitPattern, results[2].bitPattern, "1 vs 3 threads, count \(count)")
        }
    }

    /// scale, zero and add are exact element-wise Float operations.
    func testScaleZeroAdd() {
        var rng = TestRNG(seed: 101)
        for count in [1, 33, 300_007] {
            let x = rng.floatExact(count).map(Float.init), y = rng.floatExact(count).map(Float.init)
            withThreadCounts { threads in
                let a = Buf(x), b = Buf(y)
                VectorMath.scale(a.p, count: count, by: 0.375)
                XCTAssertEqual(a.array, x.map { $0 * 0.375 }, "scale threads=\(threads)")
                VectorMath.add(a.p, b.c, count: count)
                XCTAssertEqual(a.array, zip(x, y).map { $0 * 0.375 + $1 }, "add threads=\(threads)")
                VectorMath.zero(a.p, count: count)
                XCTAssertTrue(a.array.allSatisfy { $0 == 0 && $0.sign == .plus }, "zero threads=\(threads)")
            }
        }
    }
}
