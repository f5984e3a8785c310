import Foundation
import Kernels
import KernelsTestSupport
import XCTest

final class AdamWTests: KernelTestCase {
    /// Two steps by hand for one parameter p = 1, g = 0.5 then g = -0.25, lr 0.1, β = (0.9, 0.99),
    /// eps 1e-8, wd 0.1 (decoupled), worked out on paper:
    ///   step 1: p ← 1·(1 − 0.01) = 0.99; m = 0.05; v = 0.0025; m̂ = 0.5; v̂ = 0.25;
    ///           p ← 0.99 − 0.1·0.5/(0.5 + 1e-8) (≈ 0.89)
    ///   step 2: p ← p·0.99; m = 0.045 − 0.025 = 0.02; v = 0.002475 + 0.000625 = 0.0031;
    ///           m̂ = 0.02/0.19; v̂ = 0.0031/0.0199; p ← p − 0.1·m̂/(√v̂ + 1e-8)
    func testHandComputedTwoSteps() {
        let expected1 = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8)
        let mhat = 0.02 / 0.19, vhat = 0.0031 / 0.0199
        let expected2 = expected1 * 0.99 - 0.1 * mhat / (vhat.squareRoot() + 1e-8)
        // Reference.
        var p = [1.0], m = [0.0], v = [0.0]
        AdamWReference.step(params: &p, grads: [0.5], m: &m, v: &v, lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8,
                            weightDecay: 0.1, t: 1)
        XCTAssertEqual(p[0], expected1, accuracy: 1e-12)
        XCTAssertEqual(m[0], 0.05, accuracy: 1e-12)
        XCTAssertEqual(v[0], 0.0025, accuracy: 1e-12)
        AdamWReference.step(params: &p, grads: [-0.25], m: &m, v: &v, lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8,
                            weightDecay: 0.1, t: 2)
        XCTAssertEqual(p[0], expected2, accuracy: 1e-12)
        XCTAssertEqual(m[0], 0.02, accuracy: 1e-12)
        XCTAssertEqual(v[0], 0.0031, accuracy: 1e-12)
        // Kernel (gradScale 0.5 applied to doubled gradients gives the same steps).
        let pb = Buf<Float>([1]), mb = Buf<Float>([0]), vb = Buf<Float>([0])
        AdamW.step(params: pb.p, grads: Buf<Float>([1.0]).c, m: mb.p, v: vb.p, count: 1, lr: 0.1, beta1: 0.9,
                   beta2: 0.99, eps: 1e-8, weightDecay: 0.1, t: 1, gradScale: 0.5)
        XCTAssertEqual(Double(pb.p[0]), expected1, accuracy: 1e-6)
        AdamW.step(params: pb.p, grads: Buf<Float>([-0.5]).c, m: mb.p, v: vb.p, count: 1, lr: 0.1, beta1: 0.9,
                   beta2: 0.99, eps: 1e-8, weightDecay: 0.1, t: 2, gradScale: 0.5)
        XCTAssertEqual(Double(pb.p[0]), expected2, accuracy: 1e-6)
        XCTAssertEqual(Double(mb.p[0]), 0.02, accuracy: 1e-7)
        XCTAssertEqual(Double(vb.p[0]), 0.0031, accuracy: 1e-8)
    }

    /// Kernel vs reference over five steps (odd count, gradient scaling, weight decay) at 1 and 2
    /// threads: params rtol 1e-5 + atol 1e-6·max, moments rtol 1e-4 + atol 1e-6·max.
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 80)
        let count = 70_003
        let p0 = rng.floatExact(count, -0.1...0.1)
        let grads = (0..<5).map { _ in rng.floatExact(count, -1...1) }
        var p = p0, m = [Double](repeating: 0, count: count), v = m
        for t in 1...5 {
            AdamWReference.step(params: &p, grads: grads[t - 1], m: &m, v: &v, lr: 6e-4, beta1: 0.9, beta2: 0.95,
                                eps: 1e-8, weightDecay: 0.1, t: t, gradScale: 0.7)
        }
        withThreadCounts { threads in
            let pb = Buf(doubles: p0), mb = Buf<Float>(repeating: 0, count: count), vb = Buf<Float>(repeating: 0, count: count)
            for t in 1...5 {
                let g = Buf(doubles: grads[t - 1])
                AdamW.step(params: pb.p, grads: g.c, m: mb.p, v: vb.p, count: count, lr: 6e-4, beta1: 0.9, beta2: 0.95,
                           eps: 1e-8, weightDecay: 0.1, t: t, gradScale: 0.7)
            }
            assertClose(pb.array, p, rtol: 1e-5, atol: 1e-6, "params threads=\(threads)")
            assertClose(mb.array, m, rtol: 1e-4, atol: 1e-6, "m threads=\(threads)")
            assertClose(vb.array, v, rtol: 1e-4, atol: 1e-6, "v threads=\(threads)")
        }
    }
}
