import Kernels
import KernelsTestSupport
import XCTest

final class ActivationTests: KernelTestCase {
    /// Reference derivatives vs central differences: ReLU away from its kink, gated GELU in both inputs
    /// and both GELU forms, to 1e-6 relative.
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 91)
        let x = rng.doubles(40, -3...3).map { abs($0) < 0.05 ? $0 + 0.2 : $0 }, r = rng.doubles(40)
        assertGradientsMatch(ReLUReference.backward(inp: x, dout: r),
                             numericalGradient(x) { dot(ReLUReference.forward($0), r) }, "relu")
        for kind in [GELU.Kind.tanh, .erf] {
            let gate = rng.doubles(40, -3...3), lin = rng.doubles(40, -2...2)
            let g = GatedGELUReference.backward(gate: gate, linear: lin, dout: r, kind: kind)
            assertGradientsMatch(g.dgate, numericalGradient(gate) { dot(GatedGELUReference.forward(gate: $0, linear: lin, kind: kind), r) },
                                 "gated gelu dgate \(kind)")
            assertGradientsMatch(g.dlinear, numericalGradient(lin) { dot(GatedGELUReference.forward(gate: gate, linear: $0, kind: kind), r) },
                                 "gated gelu dlinear \(kind)")
        }
    }

    /// Kernels vs references at 1 and 2 threads, counts with and without a 16-lane tail; backward
    /// accumulates onto the gradient buffers.
    func testKernelsMatchReferences() {
        var rng = TestRNG(seed: 92)
        for n in [1, 16, 37, 5000] {
            let x = rng.floatExact(n, -3...3), lin = rng.floatExact(n, -2...2), dout = rng.floatExact(n)
            let prior = (rng.floatExact(n), rng.floatExact(n))
            withThreadCounts { threads in
                let tag = "n=\(n) threads=\(threads)"
                let xb = Buf(doubles: x), lb = Buf(doubles: lin), gb = Buf(doubles: dout)
                let out = Buf<Float>(repeating: .nan, count: n)
                ReLU.forward(out: out.p, inp: xb.c, count: n)
                assertClose(out.array, ReLUReference.forward(x), "relu \(tag)")
                let dx = Buf(doubles: prior.0)
                ReLU.backward(dinp: dx.p, inp: xb.c, dout: gb.c, count: n)
                assertClose(dx.array, zip(prior.0, ReLUReference.backward(inp: x, dout: dout)).map(+), "relu backward \(tag)")
                for kind in [GELU.Kind.tanh, .erf] {
                    GatedGELU.forward(out: out.p, gate: xb.c, linear: lb.c, count: n, kind: kind)
                    assertClose(out.array, GatedGELUReference.forward(gate: x, linear: lin, kind: kind), "gated \(kind) \(tag)")
                    let dgate = Buf(doubles: prior.0), dlin = Buf(doubles: prior.1)
                    GatedGELU.backward(dgate: dgate.p, dlinear: dlin.p, gate: xb.c, linear: lb.c, dout: gb.c, count: n, kind: kind)
                    let ref = GatedGELUReference.backward(gate: x, linear: lin, dout: dout, kind: kind)
                    assertClose(dgate.array, zip(prior.0, ref.dgate).map(+), "gated dgate \(kind) \(tag)")
                    assertClose(dlin.array, zip(prior.1, ref.dlinear).map(+), "gated dlinear \(kind) \(tag)")
                }
            }
        }
    }
}
