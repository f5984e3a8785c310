import Kernels
import KernelsTestSupport
import XCTest

final class GELUTests: KernelTestCase {
    /// Reference derivative vs central differences of the reference forward, both forms, to 1e-6 relative.
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 10)
        let x = rng.doubles(40, -6...6) + [0, 1e-3, -1e-3]
        let r = rng.doubles(x.count)
        for kind in [GELU.Kind.tanh, .erf] {
            let analytic = GELUReference.backward(inp: x, dout: r, kind: kind)
            let numeric = numericalGradient(x) { dot(GELUReference.forward($0, kind: kind), r) }
            assertGradientsMatch(analytic, numeric, "\(kind)")
        }
    }

    /// The tanh reference is PyTorch's formula at known points (values from the closed form by hand:
    /// gelu(0) = 0, gelu(x) → x for large x, → 0 for very negative x) and tanh ≈ erf form within 1e-3.
    func testReferenceSanity() {
        let y = GELUReference.forward([0, 10, -10, 1], kind: .tanh)
        XCTAssertEqual(y[0], 0)
        XCTAssertEqual(y[1], 10, accuracy: 1e-12)
        XCTAssertEqual(y[2], 0, accuracy: 1e-12)
        // 0.5·(1 + tanh(√(2/π)·1.044715)) = 0.5·(1 + tanh(0.833561...)) = 0.841191990...
        XCTAssertEqual(y[3], 0.841_191_990, accuracy: 1e-8)
        XCTAssertEqual(GELUReference.forward([1], kind: .erf)[0], 0.841_344_746, accuracy: 1e-8)
    }

    /// Kernel vs reference, both forms, odd counts, 1 and 2 threads: rtol 1e-5 + atol 1e-6·max|expected|.
    /// Backward accumulates onto the prior dinp.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 11)
        for count in [1, 15, 17, 1000, 100_003] {
            let x = rng.floatExact(count, -8...8), g = rng.floatExact(count), prior = rng.floatExact(count)
            for kind in [GELU.Kind.tanh, .erf] {
                let ref = GELUReference.forward(x, kind: kind)
                let dref = zip(prior, GELUReference.backward(inp: x, dout: g, kind: kind)).map(+)
                withThreadCounts { threads in
                    let tag = "\(kind) count=\(count) threads=\(threads)"
                    let inp = Buf(doubles: x), out = Buf<Float>(repeating: .nan, count: count)
                    GELU.forward(out: out.p, inp: inp.c, count: count, kind: kind)
                    assertClose(out.array, ref, rtol: 1e-5, atol: 1e-6, "forward \(tag)")
                    let dinp = Buf(doubles: prior), dout = Buf(doubles: g)
                    GELU.backward(dinp: dinp.p, inp: inp.c, dout: dout.c, count: count, kind: kind)
                    assertClose(dinp.array, dref, rtol: 1e-5, atol: 1e-6, "backward \(tag)")
                }
            }
        }
    }

    func testForwardInPlace() {
        var rng = TestRNG(seed: 12)
        let x = rng.floatExact(333, -4...4)
        let buf = Buf(doubles: x)
        GELU.forward(out: buf.p, inp: buf.c, count: x.count)
        assertClose(buf.array, GELUReference.forward(x), rtol: 1e-5, atol: 1e-6, "in place")
    }
}
