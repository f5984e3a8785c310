import Kernels
import KernelsTestSupport
import XCTest

final class ResidualTests: KernelTestCase {
    /// Reference backward vs central differences of the reference forward, to 1e-6 relative.
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 20)
        let a = rng.doubles(9), b = rng.doubles(9), r = rng.doubles(9)
        let loss: ([Double], [Double]) -> Double = { dot(ResidualReference.forward(a: $0, b: $1), r) }
        let g = ResidualReference.backward(dout: r)
        assertGradientsMatch(g.da, numericalGradient(a) { loss($0, b) }, "da")
        assertGradientsMatch(g.db, numericalGradient(b) { loss(a, $0) }, "db")
    }

    /// Kernel is exact (a single Float addition per element), so compare bitwise with Float sums;
    /// backward accumulates into both, or into one when the other is nil. 1 and 2 threads.
    func testKernelExact() {
        var rng = TestRNG(seed: 21)
        for count in [1, 31, 70_001] {
            let a = rng.floatExact(count).map(Float.init), b = rng.floatExact(count).map(Float.init)
            let g = rng.floatExact(count).map(Float.init)
            withThreadCounts { threads in
                let tag = "count=\(count) threads=\(threads)"
                let ab = Buf(a), bb = Buf(b), out = Buf<Float>(repeating: .nan, count: count)
                Residual.forward(out: out.p, a: ab.c, b: bb.c, count: count)
                XCTAssertEqual(out.array, zip(a, b).map(+), "forward \(tag)")
                Residual.forward(out: ab.p, a: ab.c, b: bb.c, count: count)   // aliasing out = a
                XCTAssertEqual(ab.array, zip(a, b).map(+), "forward aliased \(tag)")
                let da = Buf(a), db = Buf(b), dout = Buf(g)
                Residual.backward(da: da.p, db: db.p, dout: dout.c, count: count)
                XCTAssertEqual(da.array, zip(a, g).map(+), "da \(tag)")
                XCTAssertEqual(db.array, zip(b, g).map(+), "db \(tag)")
                Residual.backward(da: nil, db: db.p, dout: dout.c, count: count)
                XCTAssertEqual(db.array, zip(zip(b, g).map(+), g).map(+), "db only \(tag)")
            }
        }
    }
}
