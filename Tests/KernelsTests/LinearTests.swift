import Kernels
import KernelsTestSupport
import XCTest

final class LinearTests: KernelTestCase {
    /// Reference backward (both layouts) vs central differences, to 1e-6 relative (max-norm).
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 40)
        let N = 3, IC = 4, OC = 5
        let x = rng.doubles(N * IC), w = rng.doubles(IC * OC), b = rng.doubles(OC), r = rng.doubles(N * OC)
        let g = LinearReference.backward(dout: r, inp: x, weight: w, N: N, IC: IC, OC: OC)
        let f: ([Double], [Double], [Double]) -> Double = {
            dot(LinearReference.forward(inp: $0, weight: $1, bias: $2, N: N, IC: IC, OC: OC), r)
        }
        assertGradientsMatch(g.dinp, numericalGradient(x) { f($0, w, b) }, "dinp")
        assertGradientsMatch(g.dweight, numericalGradient(w) { f(x, $0, b) }, "dweight")
        assertGradientsMatch(g.dbias, numericalGradient(b) { f(x, w, $0) }, "dbias")
        let wt = rng.doubles(OC * IC)
        let gt = LinearReference.backwardTransposed(dout: r, inp: x, weight: wt, N: N, IC: IC, OC: OC)
        let ft: ([Double], [Double]) -> Double = {
            dot(LinearReference.forwardTransposed(inp: $0, weight: $1, N: N, IC: IC, OC: OC), r)
        }
        assertGradientsMatch(gt.dinp, numericalGradient(x) { ft($0, wt) }, "transposed dinp")
        assertGradientsMatch(gt.dweight, numericalGradient(wt) { ft(x, $0) }, "transposed dweight")
    }

    /// Shapes: tiny odd ones (serial sgemm) and two over the split threshold, one split by rows
    /// (N ≥ OC) and one by columns, at 1 and 2 threads and under both GEMM strategies.
    static let shapes = [(5, 3, 7), (1, 1, 1), (300, 64, 120), (64, 96, 700)]

    /// Conv1D layout: forward with and without bias, backward accumulating, rtol 1e-4 + atol 1e-5·max.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 41)
        for (N, IC, OC) in Self.shapes {
            let x = rng.floatExact(N * IC), w = rng.floatExact(IC * OC), b = rng.floatExact(OC)
            let g = rng.floatExact(N * OC)
            let prior = (rng.floatExact(N * IC), rng.floatExact(IC * OC), rng.floatExact(OC))
            let ref = LinearReference.forward(inp: x, weight: w, bias: b, N: N, IC: IC, OC: OC)
            let refNoBias = LinearReference.forward(inp: x, weight: w, bias: nil, N: N, IC: IC, OC: OC)
            let grad = LinearReference.backward(dout: g, inp: x, weight: w, N: N, IC: IC, OC: OC)
            let defaultStrategy = GEMM.strategy
            for strategy in [GEMM.Strategy.splitAcrossThreads, .openBLASThreads] {
                GEMM.strategy = strategy
                defer { GEMM.strategy = defaultStrategy }
                withThreadCounts { threads in
                    let tag = "N=\(N) IC=\(IC) OC=\(OC) threads=\(threads) \(strategy)"
                    let xb = Buf(doubles: x), wb = Buf(doubles: w), bb = Buf(doubles: b), gb = Buf(doubles: g)
                    let out = Buf<Float>(repeating: .nan, count: N * OC)
                    Linear.forward(out: out.p, inp: xb.c, weight: wb.c, bias: bb.c, N: N, IC: IC, OC: OC)
                    assertClose(out.array, ref, "forward \(tag)")
                    Linear.forward(out: out.p, inp: xb.c, weight: wb.c, bias: nil, N: N, IC: IC, OC: OC)
                    assertClose(out.array, refNoBias, "forward no bias \(tag)")
                    let dx = Buf(doubles: prior.0), dw = Buf(doubles: prior.1), db = Buf(doubles: prior.2)
                    Linear.backward(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: gb.c, inp: xb.c, weight: wb.c,
                                    N: N, IC: IC, OC: OC)
                    assertClose(dx.array, zip(prior.0, grad.dinp).map(+), "dinp \(tag)")
                    assertClose(dw.array, zip(prior.1, grad.dweight).map(+), "dweight \(tag)")
                    assertClose(db.array, zip(prior.2, grad.dbias).map(+), "dbias \(tag)")
                    let dw2 = Buf(doubles: prior.1)
                    Linear.backward(dinp: nil, dweight: dw2.p, dbias: nil, dout: gb.c, inp: xb.c, weight: wb.c,
                                    N: N, IC: IC, OC: OC)
                    XCTAssertEqual(dw2.array, dw.array, "nil outputs skipped \(tag)")
                }
            }
        }
    }

    /// Tied-head layout (weight (OC,IC)): forward and accumulating backward, rtol 1e-4 + atol 1e-5·max.
    func testTransposedMatchesReference() {
        var rng = TestRNG(seed: 42)
        for (N, IC, OC) in Self.shapes {
            let x = rng.floatExact(N * IC), w = rng.floatExact(OC * IC), g = rng.floatExact(N * OC)
            let prior = (rng.floatExact(N * IC), rng.floatExact(OC * IC))
            let ref = LinearReference.forwardTransposed(inp: x, weight: w, N: N, IC: IC, OC: OC)
            let grad = LinearReference.backwardTransposed(dout: g, inp: x, weight: w, N: N, IC: IC, OC: OC)
            withThreadCounts { threads in
                let tag = "N=\(N) IC=\(IC) OC=\(OC) threads=\(threads)"
                let xb = Buf(doubles: x), wb = Buf(doubles: w), gb = Buf(doubles: g)
                let out = Buf<Float>(repeating: .nan, count: N * OC)
                Linear.forwardTransposed(out: out.p, inp: xb.c, weight: wb.c, N: N, IC: IC, OC: OC)
                assertClose(out.array, ref, "forward \(tag)")
                let dx = Buf(doubles: prior.0), dw = Buf(doubles: prior.1)
                Linear.backwardTransposed(dinp: dx.p, dweight: dw.p, dout: gb.c, inp: xb.c, weight: wb.c,
                                          N: N, IC: IC, OC: OC)
                assertClose(dx.array, zip(prior.0, grad.dinp).map(+), "dinp \(tag)")
                assertClose(dw.array, zip(prior.1, grad.dweight).map(+), "dweight \(tag)")
            }
        }
    }

    /// `nn.Linear` layout with a bias (`Linear.forwardTransposed`): forward = reference product + bias, backward
    /// accumulates the reference dinp/dweight and the column sums of dout into dbias.
    func testTransposedWithBiasMatchesReference() {
        var rng = TestRNG(seed: 43)
        for (N, IC, OC) in Self.shapes {
            let x = rng.floatExact(N * IC), w = rng.floatExact(OC * IC), b = rng.floatExact(OC), g = rng.floatExact(N * OC)
            let prior = (rng.floatExact(N * IC), rng.floatExact(OC * IC), rng.floatExact(OC))
            let product = LinearReference.forwardTransposed(inp: x, weight: w, N: N, IC: IC, OC: OC)
            let ref = (0..<(N * OC)).map { product[$0] + b[$0 % OC] }
            let grad = LinearReference.backwardTransposed(dout: g, inp: x, weight: w, N: N, IC: IC, OC: OC)
            var dbias = prior.2
            for n in 0..<N { for o in 0..<OC { dbias[o] += g[n * OC + o] } }
            withThreadCounts { threads in
                let tag = "N=\(N) IC=\(IC) OC=\(OC) threads=\(threads)"
                let xb = Buf(doubles: x), wb = Buf(doubles: w), bb = Buf(doubles: b), gb = Buf(doubles: g)
                let out = Buf<Float>(repeating: .nan, count: N * OC)
                Linear.forwardTransposed(out: out.p, inp: xb.c, weight: wb.c, bias: bb.c, N: N, IC: IC, OC: OC)
                assertClose(out.array, ref, "forward \(tag)")
                let dx = Buf(doubles: prior.0), dw = Buf(doubles: prior.1), db = Buf(doubles: prior.2)
                Linear.backwardTransposed(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: gb.c, inp: xb.c, weight: wb.c,
                                          N: N, IC: IC, OC: OC)
                assertClose(dx.array, zip(prior.0, grad.dinp).map(+), "dinp \(tag)")
                assertClose(dw.array, zip(prior.1, grad.dweight).map(+), "dweight \(tag)")
                assertClose(db.array, dbias, "dbias \(tag)")
            }
        }
    }
}
