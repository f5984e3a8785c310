import Foundation
import Kernels
import XCTest

final class FastMathTests: KernelTestCase {
    /// Largest relative error of a vectorised function against a Double function over `xs`.
    func maxRelativeError(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>, _ ref: (Double) -> Double) -> (Double, Float) {
        var worst = 0.0, at: Float = 0
        var i = 0
        while i < xs.count {
            var v = SIMD16<Float>()
            for k in 0..<16 { v[k] = xs[min(i + k, xs.count - 1)] }
            let y = f(v)
            for k in 0..<16 where i + k < xs.count {
                let e = ref(Double(v[k]))
                let err = abs(Double(y[k]) - e) / abs(e)
                if !(err <= worst) { worst = err; at = v[k] }
            }
            i += 16
        }
        return (worst, at)
    }

    func grid(_ lo: Float, _ hi: Float, _ n: Int) -> [Float] {
        (0...n).map { lo + (hi - lo) * Float($0) / Float(n) }
    }

    func testExpRelativeErrorBelow3e7() {
        let (err, at) = maxRelativeError(grid(-87, 88, 200_000), FastMath.exp) { Foundation.exp($0) }
        XCTAssertLessThan(err, 3e-7, "worst at \(at)")
    }

    func testSigmoidRelativeErrorBelow5e7() {
        let (err, at) = maxRelativeError(grid(-80, 30, 100_000), FastMath.sigmoid) { 1 / (1 + Foundation.exp(-$0)) }
        XCTAssertLessThan(err, 5e-7, "worst at \(at)")
    }

    func testTanhRelativeErrorBelow5e7() {
        let xs = grid(-12, 12, 100_000) + grid(-1e-3, 1e-3, 1000).filter { $0 != 0 }
        let (err, at) = maxRelativeError(xs, FastMath.tanh) { Foundation.tanh($0) }
        XCTAssertLessThan(err, 5e-7, "worst at \(at)")
    }

    /// Relative accuracy of Φ degrades like x²·ε in the far left tail (z² is rounded to Float there).
    func testNormalCDFRelativeError() {
        let phi: (Double) -> Double = { 0.5 * Foundation.erfc(-$0 / 2.0.squareRoot()) }
        let (core, at1) = maxRelativeError(grid(-6, 8, 100_000), FastMath.normalCDF, phi)
        XCTAssertLessThan(core, 5e-6, "worst at \(at1)")
        let (tail, at2) = maxRelativeError(grid(-13, -6, 10_000), FastMath.normalCDF, phi)
        XCTAssertLessThan(tail, 2e-5, "worst at \(at2)")
    }

    func testSqrtAndRsqrtRelativeErrorBelow3e7() {
        let xs = (0..<20_000).map { Float(Foundation.pow(10.0, -30 + 60 * Double($0) / 20_000)) }
        let (e1, a1) = maxRelativeError(xs, FastMath.sqrt) { $0.squareRoot() }
        XCTAssertLessThan(e1, 3e-7, "sqrt worst at \(a1)")
        let (e2, a2) = maxRelativeError(xs, FastMath.rsqrt) { 1 / $0.squareRoot() }
        XCTAssertLessThan(e2, 3e-7, "rsqrt worst at \(a2)")
        XCTAssertEqual(FastMath.sqrt(SIMD16<Float>(repeating: 0)), SIMD16<Float>(repeating: 0))
    }

    func testExpClampsInsteadOfOverflowing() {
        let y = FastMath.exp(SIMD16<Float>(repeating: 1000))
        XCTAssertTrue(y[0].isFinite && y[0] > 1e38)
        let z = FastMath.exp(SIMD16<Float>(repeating: -.infinity))
        XCTAssertTrue(z[0] >= 0 && z[0] < 1e-37)
    }
}
