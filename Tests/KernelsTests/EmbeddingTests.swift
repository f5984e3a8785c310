import Foundation
import Kernels
import KernelsTestSupport
import XCTest

final class EmbeddingTests: KernelTestCase {
    /// Reference backward vs central differences in wte and wpe, to 1e-6 relative (max-norm).
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 30)
        let B = 2, T = 3, C = 5, V = 4, P = 4
        let tokens: [Int32] = [1, 1, 3, 0, 1, 2]   // repeated tokens on purpose
        let wte = rng.doubles(V * C), wpe = rng.doubles(P * C), r = rng.doubles(B * T * C)
        let g = EmbeddingReference.backward(dout: r, tokens: tokens, B: B, T: T, C: C, V: V, P: P)
        assertGradientsMatch(g.dwte, numericalGradient(wte) {
            dot(EmbeddingReference.forward(tokens: tokens, wte: $0, wpe: wpe, B: B, T: T, C: C), r)
        }, "dwte")
        assertGradientsMatch(g.dwpe, numericalGradient(wpe) {
            dot(EmbeddingReference.forward(tokens: tokens, wte: wte, wpe: $0, B: B, T: T, C: C), r)
        }, "dwpe")
    }

    /// Kernel vs reference at 1 and 2 threads, rtol 1e-5 + atol 1e-6·max (sums of a few Float terms);
    /// backward accumulates onto prior values, and dwpe = nil leaves positions alone.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 31)
        for (B, T, C, V, P) in [(2, 5, 12, 7, 6), (1, 1, 3, 2, 1), (4, 33, 80, 50, 40)] {
            let tokens = rng.tokens(B * T, below: V)
            let wte = rng.floatExact(V * C), wpe = rng.floatExact(P * C), g = rng.floatExact(B * T * C)
            let prior = (rng.floatExact(V * C), rng.floatExact(P * C))
            let ref = EmbeddingReference.forward(tokens: tokens, wte: wte, wpe: wpe, B: B, T: T, C: C)
            let grad = EmbeddingReference.backward(dout: g, tokens: tokens, B: B, T: T, C: C, V: V, P: P)
            withThreadCounts { threads in
                let tag = "B=\(B) T=\(T) C=\(C) threads=\(threads)"
                let tok = Buf(tokens), te = Buf(doubles: wte), pe = Buf(doubles: wpe)
                let out = Buf<Float>(repeating: .nan, count: B * T * C)
                Embedding.forward(out: out.p, tokens: tok.c, wte: te.c, wpe: pe.c, B: B, T: T, C: C, V: V)
                assertClose(out.array, ref, rtol: 1e-6, atol: 0, "forward \(tag)")
                let dte = Buf(doubles: prior.0), dpe = Buf(doubles: prior.1), dout = Buf(doubles: g)
                Embedding.backward(dwte: dte.p, dwpe: dpe.p, dout: dout.c, tokens: tok.c, B: B, T: T, C: C)
                assertClose(dte.array, zip(prior.0, grad.dwte).map(+), rtol: 1e-5, atol: 1e-6, "dwte \(tag)")
                assertClose(dpe.array, zip(prior.1, grad.dwpe).map(+), rtol: 1e-5, atol: 1e-6, "dwpe \(tag)")
                let dte2 = Buf(doubles: prior.0)
                Embedding.backward(dwte: dte2.p, dwpe: nil, dout: dout.c, tokens: tok.c, B: B, T: T, C: C)
                XCTAssertEqual(dte2.array, dte.array, "dwpe nil \(tag)")
            }
        }
    }

    /// The sinusoidal table against the formula evaluated here independently, plus hand values:
    /// PE(0, even) = 0, PE(0, odd) = 1, PE(1, 0) = sin 1, PE(1, 1) = cos 1.
    func testSinusoidalTable() {
        let P = 9, C = 7
        let t = Buf<Float>(repeating: .nan, count: P * C)
        Embedding.sinusoidalTable(into: t.p, P: P, C: C)
        XCTAssertEqual(t.p[0], 0)
        XCTAssertEqual(t.p[1], 1)
        XCTAssertEqual(t.p[C], Float(Foundation.sin(1.0)), accuracy: 1e-7)
        XCTAssertEqual(t.p[C + 1], Float(Foundation.cos(1.0)), accuracy: 1e-7)
        for pos in 0..<P {
            for i in 0..<C {
                let freq = 1 / Foundation.pow(10000.0, Double(2 * (i / 2)) / Double(C))
                let e = i % 2 == 0 ? Foundation.sin(Double(pos) * freq) : Foundation.cos(Double(pos) * freq)
                XCTAssertEqual(Double(t.p[pos * C + i]), e, accuracy: 1e-6, "pos \(pos) i \(i)")
            }
        }
    }
}
