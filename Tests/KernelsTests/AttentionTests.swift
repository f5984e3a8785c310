import Kernels
import KernelsTestSupport
import XCTest

final class AttentionTests: KernelTestCase {
    struct Case {
        let B, T, C, NH: Int
        let causal: Bool
        let pad: [UInt8]?
    }

    /// Reference backward vs central differences in all of qkv, to 1e-6 relative (max-norm). Covers
    /// causal and not, NH = 1, T = 1, key padding, and a causal row whose only visible key is padding.
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 60)
        let cases = [
            Case(B: 1, T: 4, C: 6, NH: 2, causal: true, pad: nil),
            Case(B: 2, T: 3, C: 4, NH: 1, causal: false, pad: nil),
            Case(B: 1, T: 1, C: 3, NH: 1, causal: true, pad: nil),
            Case(B: 2, T: 4, C: 4, NH: 2, causal: false, pad: [1, 1, 1, 1, 1, 1, 0, 0]),
            Case(B: 2, T: 3, C: 4, NH: 2, causal: true, pad: [0, 1, 1, 1, 0, 1]),
        ]
        for k in cases {
            let qkv = rng.doubles(k.B * k.T * 3 * k.C, -2...2), r = rng.doubles(k.B * k.T * k.C)
            let analytic = AttentionReference.backward(dout: r, qkv: qkv, B: k.B, T: k.T, C: k.C, NH: k.NH,
                                                       causal: k.causal, keyPadding: k.pad)
            let numeric = numericalGradient(qkv) {
                dot(AttentionReference.forward(qkv: $0, B: k.B, T: k.T, C: k.C, NH: k.NH, causal: k.causal,
                                               keyPadding: k.pad).out, r)
            }
            assertGradientsMatch(analytic, numeric, "\(k)")
        }
    }

    /// Reference masks: probabilities are 0 above the diagonal (causal) and on padded keys, rows sum
    /// to 1, and a row with no visible key is all zeros with a zero output.
    func testReferenceMasking() {
        var rng = TestRNG(seed: 61)
        let T = 3
        let qkv = rng.doubles(T * 3 * 2, -2...2)
        let res = AttentionReference.forward(qkv: qkv, B: 1, T: T, C: 2, NH: 1, causal: true, keyPadding: [0, 1, 1])
        XCTAssertEqual(Array(res.att[0..<3]), [0, 0, 0])            // row 0 sees only the padded key 0
        XCTAssertEqual(Array(res.out[0..<2]), [0, 0])
        XCTAssertEqual(res.att[3], 0)                              // padded key
        XCTAssertEqual(res.att[4], 1, accuracy: 1e-15)             // only visible key
        XCTAssertEqual(res.att[5], 0)                              // future key
        XCTAssertEqual(res.att[7] + res.att[8], 1, accuracy: 1e-15)
    }

    /// Kernel vs reference (out, att, accumulated dqkv) at 1 and 2 threads, rtol 1e-4 + atol 1e-5·max,
    /// with the causal row block at its default and at 3 (so blocks of several sizes are exercised).
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 62)
        let cases = [
            Case(B: 2, T: 7, C: 12, NH: 3, causal: true, pad: nil),
            Case(B: 2, T: 7, C: 12, NH: 3, causal: false, pad: nil),
            Case(B: 1, T: 1, C: 5, NH: 1, causal: true, pad: nil),
            Case(B: 1, T: 70, C: 16, NH: 2, causal: true, pad: nil),
            Case(B: 3, T: 20, C: 40, NH: 4, causal: false, pad: (0..<60).map { $0 % 7 == 3 ? 0 : 1 }),
            Case(B: 2, T: 9, C: 8, NH: 2, causal: true, pad: [0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]),
        ]
        let defaultBlock = Attention.rowBlock
        defer { Attention.rowBlock = defaultBlock }
        for k in cases {
            let qkvD = rng.floatExact(k.B * k.T * 3 * k.C, -2...2), g = rng.floatExact(k.B * k.T * k.C)
            let prior = rng.floatExact(k.B * k.T * 3 * k.C)
            let ref = AttentionReference.forward(qkv: qkvD, B: k.B, T: k.T, C: k.C, NH: k.NH, causal: k.causal,
                                                 keyPadding: k.pad)
            let dref = zip(prior, AttentionReference.backward(dout: g, qkv: qkvD, B: k.B, T: k.T, C: k.C, NH: k.NH,
                                                              causal: k.causal, keyPadding: k.pad)).map(+)
            for block in [defaultBlock, 3] {
                Attention.rowBlock = block
                withThreadCounts { threads in
                    let tag = "\(k) block=\(block) threads=\(threads)"
                    let qkv = Buf(doubles: qkvD), dout = Buf(doubles: g), pad = k.pad.map { Buf($0) }
                    let out = Buf<Float>(repeating: .nan, count: k.B * k.T * k.C)
                    let att = Buf<Float>(repeating: .nan, count: k.B * k.NH * k.T * k.T)
                    Attention.forward(out: out.p, att: att.p, qkv: qkv.c, B: k.B, T: k.T, C: k.C, NH: k.NH,
                                      causal: k.causal, keyPadding: pad?.c)
                    assertClose(out.array, ref.out, "out \(tag)")
                    assertClose(att.array, ref.att, "att \(tag)")
                    let dqkv = Buf(doubles: prior)
                    let scratch = Buf<Float>(repeating: .nan, count: k.B * k.NH * k.T * k.T)
                    Attention.backward(dqkv: dqkv.p, scratch: scratch.p, dout: dout.c, qkv: qkv.c, att: att.c,
                                       B: k.B, T: k.T, C: k.C, NH: k.NH, causal: k.causal, keyPadding: pad?.c)
                    assertClose(dqkv.array, dref, "dqkv \(tag)")
                }
            }
        }
    }

    /// Attention-weight dropout: the reference backward (mask fixed by the seed) matches central
    /// differences, and the kernel matches the reference at 1 and 2 threads, causal and not.
    func testDropoutOnAttentionWeights() {
        var rng = TestRNG(seed: 63)
        for causal in [true, false] {
            let (B, T, C, NH, p, seed): (Int, Int, Int, Int, Float, UInt64) = (2, 5, 6, 2, 0.3, 99)
            let qkvFD = rng.doubles(B * T * 3 * C, -2...2), r = rng.doubles(B * T * C)
            let analytic = AttentionReference.backward(dout: r, qkv: qkvFD, B: B, T: T, C: C, NH: NH, causal: causal, dropout: p, seed: seed)
            let numeric = numericalGradient(qkvFD) {
                dot(AttentionReference.forward(qkv: $0, B: B, T: T, C: C, NH: NH, causal: causal, dropout: p, seed: seed).out, r)
            }
            assertGradientsMatch(analytic, numeric, "dropout causal=\(causal)")

            let qkvD = rng.floatExact(B * T * 3 * C, -2...2), g = rng.floatExact(B * T * C)
            let ref = AttentionReference.forward(qkv: qkvD, B: B, T: T, C: C, NH: NH, causal: causal, dropout: p, seed: seed)
            let dref = AttentionReference.backward(dout: g, qkv: qkvD, B: B, T: T, C: C, NH: NH, causal: causal, dropout: p, seed: seed)
            withThreadCounts { threads in
                let qkv = Buf(doubles: qkvD), dout = Buf(doubles: g)
                let out = Buf<Float>(repeating: .nan, count: B * T * C)
                let att = Buf<Float>(repeating: .nan, count: B * NH * T * T)
                let dropped = Buf<Float>(repeating: .nan, count: B * NH * T * T)
                Attention.forward(out: out.p, att: att.p, qkv: qkv.c, B: B, T: T, C: C, NH: NH, causal: causal,
                                  dropout: p, seed: seed, dropped: dropped.p)
                assertClose(out.array, ref.out, "dropout out causal=\(causal) threads=\(threads)")
                assertClose(att.array, ref.att, "dropout keeps the undropped probabilities, threads=\(threads)")
                let dqkv = Buf<Float>(repeating: 0, count: B * T * 3 * C)
                let scratch = Buf<Float>(repeating: .nan, count: B * NH * T * T)
                Attention.backward(dqkv: dqkv.p, scratch: scratch.p, dout: dout.c, qkv: qkv.c, att: att.c, B: B, T: T, C: C,
                                   NH: NH, causal: causal, dropout: p, dropped: dropped.c)
                assertClose(dqkv.array, dref, "dropout dqkv causal=\(causal) threads=\(threads)")
            }
        }
    }

    /// About p of the visible attention weights are dropped, and kept ones are scaled by 1/(1 − p).
    func testDropoutRateOnAttentionWeights() {
        var rng = TestRNG(seed: 64)
        let (B, T, C, NH, p): (Int, Int, Int, Int, Float) = (4, 64, 16, 4, 0.25)
        let qkv = Buf(doubles: rng.floatExact(B * T * 3 * C, -1...1))
        let out = Buf<Float>(repeating: 0, count: B * T * C), att = Buf<Float>(repeating: 0, count: B * NH * T * T)
        let dropped = Buf<Float>(repeating: 0, count: B * NH * T * T)
        Attention.forward(out: out.p, att: att.p, qkv: qkv.c, B: B, T: T, C: C, NH: NH, causal: false,
                          dropout: p, seed: 7, dropped: dropped.p)
        let n = B * NH * T * T
        let d = dropped.array, a = att.array
        var zeros = 0
        for i in 0..<n {
            if d[i] == 0 { zeros += 1 } else {
                XCTAssertEqual(d[i], a[i] / (1 - p), accuracy: 1e-6 * max(1, a[i]))
            }
        }
        let rate = Double(zeros) / Double(n)
        let sigma = (Double(p) * Double(1 - p) / Double(n)).squareRoot()
        XCTAssertEqual(rate, Double(p), accuracy: 5 * sigma, "drop rate over \(n) weights")
    }
}
