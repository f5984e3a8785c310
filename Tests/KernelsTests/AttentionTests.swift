import Kernels
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
}
