import Foundation
import Kernels
import KernelsTestSupport
import XCTest

final class CrossEntropyTests: KernelTestCase {
    /// Reference backward vs central differences of scale·Σ losses, with an ignored row, with and
    /// without label smoothing, to 1e-6 relative (max-norm).
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 70)
        let N = 4, V = 7
        let targets: [Int32] = [3, -100, 0, 6]
        let logits = rng.doubles(N * V, -3...3)
        for eps in [0.0, 0.1] {
            let scale = 1.0 / 3
            let analytic = CrossEntropyReference.backward(logits: logits, targets: targets, scale: scale, N: N, V: V,
                                                          labelSmoothing: eps)
            let numeric = numericalGradient(logits) {
                scale * CrossEntropyReference.forward(logits: $0, targets: targets, N: N, V: V, labelSmoothing: eps)
                    .losses.reduce(0, +)
            }
            assertGradientsMatch(analytic, numeric, "smoothing \(eps)")
        }
    }

    /// Reference against hand values: logits (0, ln 2, ln 5) have p = (1/8, 2/8, 5/8); target 1 gives
    /// loss ln 4; with ε = 0.3 the loss is 0.7·ln 4 + 0.3·mean(ln 8, ln 4, ln 8/5).
    func testReferenceHandValues() {
        let z = [0, Foundation.log(2.0), Foundation.log(5.0)]
        let r = CrossEntropyReference.forward(logits: z, targets: [1], N: 1, V: 3)
        XCTAssertEqual(r.losses[0], Foundation.log(4.0), accuracy: 1e-14)
        XCTAssertEqual(r.probs[2], 5.0 / 8, accuracy: 1e-14)
        let s = CrossEntropyReference.forward(logits: z, targets: [1], N: 1, V: 3, labelSmoothing: 0.3)
        let smooth = (Foundation.log(8.0) + Foundation.log(4.0) + Foundation.log(8.0 / 5)) / 3
        XCTAssertEqual(s.losses[0], 0.7 * Foundation.log(4.0) + 0.3 * smooth, accuracy: 1e-14)
    }

    /// Kernel vs reference at 1 and 2 threads: losses, probs, (sum, count), dlogits both into a
    /// separate buffer and in place over probs. Tolerances: losses rtol 1e-5 + atol 1e-6·max; probs and
    /// dlogits rtol 1e-4 + atol 1e-6·max.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 71)
        let cases: [(N: Int, V: Int, ignore: Int32, eps: Float)] = [
            (6, 1003, -100, 0), (6, 1003, -100, 0.1), (3, 50257, -1, 0.1), (1, 1, -100, 0), (5, 17, 4, 0),
        ]
        for k in cases {
            var logits = rng.floatExact(k.N * k.V, -5...5)
            for j in 0..<k.V { logits[j] += 80 }   // a row far from 0: needs the max subtraction
            var targets = rng.tokens(k.N, below: k.V)
            if k.N > 2 { targets[1] = k.ignore; targets[k.N - 1] = k.ignore }
            let scale = 1 / Double(max(1, targets.filter { $0 != k.ignore }.count))
            let ref = CrossEntropyReference.forward(logits: logits, targets: targets, N: k.N, V: k.V,
                                                    ignoreIndex: k.ignore, labelSmoothing: Double(k.eps))
            let dref = CrossEntropyReference.backward(logits: logits, targets: targets, scale: scale, N: k.N, V: k.V,
                                                      ignoreIndex: k.ignore, labelSmoothing: Double(k.eps))
            let refSum = zip(ref.losses, targets).filter { $0.1 != k.ignore }.reduce(0) { $0 + $1.0 }
            withThreadCounts { threads in
                let tag = "N=\(k.N) V=\(k.V) eps=\(k.eps) threads=\(threads)"
                let z = Buf(doubles: logits), t = Buf(targets)
                let losses = Buf<Float>(repeating: .nan, count: k.N), probs = Buf<Float>(repeating: .nan, count: k.N * k.V)
                let (sum, count) = CrossEntropy.forward(losses: losses.p, probs: probs.p, logits: z.c, targets: t.c,
                                                        N: k.N, V: k.V, ignoreIndex: k.ignore, labelSmoothing: k.eps)
                assertClose(losses.array, ref.losses, rtol: 1e-5, atol: 1e-6, "losses \(tag)")
                assertClose(probs.array, ref.probs, rtol: 1e-4, atol: 1e-6, "probs \(tag)")
                XCTAssertEqual(count, targets.filter { $0 != k.ignore }.count, tag)
                XCTAssertEqual(sum, refSum, accuracy: 1e-5 * max(1, abs(refSum)), tag)
                let d = Buf<Float>(repeating: .nan, count: k.N * k.V)
                CrossEntropy.backward(dlogits: d.p, probs: probs.c, targets: t.c, scale: Float(scale), N: k.N, V: k.V,
                                      ignoreIndex: k.ignore, labelSmoothing: k.eps)
                assertClose(d.array, dref, rtol: 1e-4, atol: 1e-6, "dlogits \(tag)")
                CrossEntropy.backward(dlogits: probs.p, probs: probs.c, targets: t.c, scale: Float(scale), N: k.N,
                                      V: k.V, ignoreIndex: k.ignore, labelSmoothing: k.eps)
                XCTAssertEqual(probs.array, d.array, "in place \(tag)")
                // Softmax in place over the logits buffer: same losses and probabilities.
                let inPlace = Buf(doubles: logits), losses2 = Buf<Float>(repeating: .nan, count: k.N)
                let (sum2, count2) = CrossEntropy.forward(losses: losses2.p, probs: inPlace.p, logits: inPlace.c,
                                                          targets: t.c, N: k.N, V: k.V, ignoreIndex: k.ignore,
                                                          labelSmoothing: k.eps)
                XCTAssertEqual(losses2.array, losses.array, "in-place losses \(tag)")
                XCTAssertEqual(sum2, sum, "in-place sum \(tag)")
                XCTAssertEqual(count2, count, "in-place count \(tag)")
                assertClose(inPlace.array, ref.probs, rtol: 1e-4, atol: 1e-6, "in-place probs \(tag)")
            }
        }
    }
}
