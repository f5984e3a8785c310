import Kernels
import KernelsTestSupport
import XCTest

final class LayerNormTests: KernelTestCase {
    /// Reference backward vs central differences of the reference forward, to 1e-6 relative (max-norm).
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 1)
        for (N, C) in [(3, 5), (1, 13), (4, 8)] {
            let inp = rng.doubles(N * C, -2...2).map { $0 + 0.5 }
            let w = rng.doubles(C, 0.5...1.5), b = rng.doubles(C)
            let r = rng.doubles(N * C)
            func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
                dot(LayerNormReference.forward(inp: x, weight: w, bias: b, N: N, C: C).out, r)
            }
            let g = LayerNormReference.backward(dout: r, inp: inp, weight: w, N: N, C: C)
            assertGradientsMatch(g.dinp, numericalGradient(inp) { loss($0, w, b) }, "dinp N=\(N) C=\(C)")
            assertGradientsMatch(g.dweight, numericalGradient(w) { loss(inp, $0, b) }, "dweight N=\(N) C=\(C)")
            assertGradientsMatch(g.dbias, numericalGradient(b) { loss(inp, w, $0) }, "dbias N=\(N) C=\(C)")
        }
    }

    /// Float kernels vs the Double reference at 1 and 2 threads: rtol 1e-4 + atol 1e-5·max|expected|;
    /// backward must accumulate onto what the gradient buffers already hold.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 2)
        for (N, C) in [(7, 20), (1, 3), (33, 64), (64, 768)] {
            let inp = rng.floatExact(N * C, -2...2).map { $0 + 1 }
            let w = rng.floatExact(C, 0.5...1.5), b = rng.floatExact(C)
            let dout = rng.floatExact(N * C)
            let prior = (rng.floatExact(N * C), rng.floatExact(C), rng.floatExact(C))
            let ref = LayerNormReference.forward(inp: inp, weight: w, bias: b, N: N, C: C)
            let grad = LayerNormReference.backward(dout: dout, inp: inp, weight: w, N: N, C: C)
            withThreadCounts { threads in
                let tag = "N=\(N) C=\(C) threads=\(threads)"
                let out = Buf<Float>(repeating: .nan, count: N * C)
                let mean = Buf<Float>(repeating: .nan, count: N), rstd = Buf<Float>(repeating: .nan, count: N)
                let x = Buf(doubles: inp), wb = Buf(doubles: w), bb = Buf(doubles: b)
                LayerNorm.forward(out: out.p, mean: mean.p, rstd: rstd.p, inp: x.c, weight: wb.c, bias: bb.c, N: N, C: C)
                assertClose(out.array, ref.out, "out \(tag)")
                assertClose(mean.array, ref.mean, "mean \(tag)")
                assertClose(rstd.array, ref.rstd, "rstd \(tag)")
                let dinp = Buf(doubles: prior.0), dw = Buf(doubles: prior.1), db = Buf(doubles: prior.2)
                let g = Buf(doubles: dout)
                LayerNorm.backward(dinp: dinp.p, dweight: dw.p, dbias: db.p, dout: g.c, inp: x.c, weight: wb.c,
                                   mean: mean.c, rstd: rstd.c, N: N, C: C)
                assertClose(dinp.array, zip(prior.0, grad.dinp).map(+), "dinp \(tag)")
                assertClose(dw.array, zip(prior.1, grad.dweight).map(+), "dweight \(tag)")
                assertClose(db.array, zip(prior.2, grad.dbias).map(+), "dbias \(tag)")
            }
        }
    }

    /// Results do not depend on the thread count (fixed summation order): 1 vs 2 threads bitwise.
    func testThreadCountInvariance() {
        var rng = TestRNG(seed: 3)
        let N = 50, C = 100
        let x = Buf(doubles: rng.floatExact(N * C)), w = Buf(doubles: rng.floatExact(C)), g = Buf(doubles: rng.floatExact(N * C))
        var results: [[Float]] = []
        withThreadCounts { _ in
            let out = Buf<Float>(repeating: 0, count: N * C), mean = Buf<Float>(repeating: 0, count: N)
            let rstd = Buf<Float>(repeating: 0, count: N)
            LayerNorm.forward(out: out.p, mean: mean.p, rstd: rstd.p, inp: x.c, weight: w.c, bias: w.c, N: N, C: C)
            let dinp = Buf<Float>(repeating: 0, count: N * C), dw = Buf<Float>(repeating: 0, count: C)
            let db = Buf<Float>(repeating: 0, count: C)
            LayerNorm.backward(dinp: dinp.p, dweight: dw.p, dbias: db.p, dout: g.c, inp: x.c, weight: w.c,
                               mean: mean.c, rstd: rstd.c, N: N, C: C)
            results.append(out.array + dinp.array + dw.array + db.array)
        }
        XCTAssertEqual(results[0], results[1])
    }
}
