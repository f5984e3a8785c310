import Kernels
import KernelsTestSupport
import XCTest

final class RMSNormTests: KernelTestCase {
    /// Reference backward vs central differences of the reference forward, to 1e-6 relative (max-norm).
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 81)
        for (N, C) in [(3, 5), (1, 13), (4, 8)] {
            let inp = rng.doubles(N * C, -2...2), w = rng.doubles(C, 0.5...1.5), r = rng.doubles(N * C)
            func loss(_ x: [Double], _ w: [Double]) -> Double { dot(RMSNormReference.forward(inp: x, weight: w, N: N, C: C).out, r) }
            let g = RMSNormReference.backward(dout: r, inp: inp, weight: w, N: N, C: C)
            assertGradientsMatch(g.dinp, numericalGradient(inp) { loss($0, w) }, "dinp N=\(N) C=\(C)")
            assertGradientsMatch(g.dweight, numericalGradient(w) { loss(inp, $0) }, "dweight N=\(N) C=\(C)")
        }
    }

    /// Float kernels vs the Double reference at 1 and 2 threads (rtol 1e-4 + atol 1e-5·max); backward
    /// accumulates onto what the gradient buffers already hold.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 82)
        for (N, C) in [(7, 20), (1, 3), (33, 64), (16, 100)] {
            let inp = rng.floatExact(N * C, -2...2), w = rng.floatExact(C, 0.5...1.5), dout = rng.floatExact(N * C)
            let prior = (rng.floatExact(N * C), rng.floatExact(C))
            let ref = RMSNormReference.forward(inp: inp, weight: w, N: N, C: C)
            let grad = RMSNormReference.backward(dout: dout, inp: inp, weight: w, N: N, C: C)
            withThreadCounts { threads in
                let tag = "N=\(N) C=\(C) threads=\(threads)"
                let out = Buf<Float>(repeating: .nan, count: N * C), rstd = Buf<Float>(repeating: .nan, count: N)
                let x = Buf(doubles: inp), wb = Buf(doubles: w), g = Buf(doubles: dout)
                RMSNorm.forward(out: out.p, rstd: rstd.p, inp: x.c, weight: wb.c, N: N, C: C)
                assertClose(out.array, ref.out, "out \(tag)")
                assertClose(rstd.array, ref.rstd, "rstd \(tag)")
                let dinp = Buf(doubles: prior.0), dw = Buf(doubles: prior.1)
                RMSNorm.backward(dinp: dinp.p, dweight: dw.p, dout: g.c, inp: x.c, weight: wb.c, rstd: rstd.c, N: N, C: C)
                assertClose(dinp.array, zip(prior.0, grad.dinp).map(+), "dinp \(tag)")
                assertClose(dw.array, zip(prior.1, grad.dweight).map(+), "dweight \(tag)")
            }
        }
    }
}
