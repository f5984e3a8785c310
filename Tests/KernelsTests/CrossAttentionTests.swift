import Kernels
import KernelsTestSupport
import XCTest

/// Attention with queries and keys/values apart: Tq ≠ Tk, strided buffers, NH·hs ≠ any model width,
/// a score scale, key padding, an additive per-head bias and its gradient.
final class CrossAttentionTests: KernelTestCase {
    struct Case {
        let B, Tq, Tk, NH, hs: Int
        let causal: Bool
        var scale: Double? = nil
        var pad: [UInt8]? = nil
        var bias = false
        var dropout: Float = 0
    }

    /// Reference backward (dq, dk, dv, dbias) vs central differences of the reference forward, to 1e-6
    /// relative: cross-attention with key padding, a query row whose keys are all padding, causal with
    /// Tk > Tq, scale 1 (T5), the bias, and dropout.
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 70)
        let cases = [
            Case(B: 2, Tq: 3, Tk: 5, NH: 2, hs: 3, causal: false, pad: [1, 1, 0, 1, 0, 0, 0, 0, 0, 0], bias: true),
            Case(B: 1, Tq: 2, Tk: 4, NH: 2, hs: 2, causal: true, scale: 1, bias: true),
            Case(B: 2, Tq: 4, Tk: 4, NH: 1, hs: 3, causal: true, pad: [1, 0, 1, 1, 1, 1, 1, 0], bias: true, dropout: 0.3),
        ]
        for k in cases {
            let D = k.NH * k.hs
            let q = rng.doubles(k.B * k.Tq * D, -2...2), kk = rng.doubles(k.B * k.Tk * D, -2...2), v = rng.doubles(k.B * k.Tk * D, -2...2)
            let bias = k.bias ? rng.doubles(k.NH * k.Tq * k.Tk) : nil
            let r = rng.doubles(k.B * k.Tq * D)
            func loss(_ q: [Double], _ kk: [Double], _ v: [Double], _ bias: [Double]?) -> Double {
                dot(AttentionReference.forward(q: q, k: kk, v: v, B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, scale: k.scale, causal: k.causal,
                                               keyPadding: k.pad, bias: bias, dropout: k.dropout, seed: 5).out, r)
            }
            let g = AttentionReference.backward(dout: r, q: q, k: kk, v: v, B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, scale: k.scale,
                                                causal: k.causal, keyPadding: k.pad, bias: bias, dropout: k.dropout, seed: 5)
            assertGradientsMatch(g.dq, numericalGradient(q) { loss($0, kk, v, bias) }, "dq \(k)")
            assertGradientsMatch(g.dk, numericalGradient(kk) { loss(q, $0, v, bias) }, "dk \(k)")
            assertGradientsMatch(g.dv, numericalGradient(v) { loss(q, kk, $0, bias) }, "dv \(k)")
            if let bias { assertGradientsMatch(g.dbias, numericalGradient(bias) { loss(q, kk, v, $0) }, "dbias \(k)") }
        }
    }

    /// The kernel on strided buffers (q inside a wider row, k and v from one fused kv row) vs the
    /// reference at 1 and 2 threads and two causal row blocks: out, att, and dq, dk, dv, dbias
    /// accumulated onto what the buffers held (rtol 1e-4 + atol 1e-5·max).
    func testKernelMatchesReference() {
        var rng = TestRNG(seed: 71)
        let cases = [
            Case(B: 2, Tq: 7, Tk: 11, NH: 3, hs: 4, causal: false, pad: (0..<22).map { $0 % 5 == 2 ? 0 : 1 }, bias: true),
            Case(B: 1, Tq: 37, Tk: 70, NH: 2, hs: 8, causal: true, scale: 1, bias: true),
            Case(B: 3, Tq: 9, Tk: 9, NH: 2, hs: 5, causal: true, pad: (0..<27).map { $0 % 4 == 0 ? 0 : 1 }),
            Case(B: 2, Tq: 5, Tk: 6, NH: 2, hs: 3, causal: false, bias: true, dropout: 0.25),
        ]
        let defaultBlock = Attention.rowBlock
        defer { Attention.rowBlock = defaultBlock }
        for k in cases {
            let D = k.NH * k.hs, ldq = D + 2, ldkv = 2 * D + 1
            let q = rng.floatExact(k.B * k.Tq * D, -2...2), kk = rng.floatExact(k.B * k.Tk * D, -2...2), v = rng.floatExact(k.B * k.Tk * D, -2...2)
            let bias = k.bias ? rng.floatExact(k.NH * k.Tq * k.Tk) : nil
            let g = rng.floatExact(k.B * k.Tq * D)
            let prior = (rng.floatExact(k.B * k.Tq * ldq), rng.floatExact(k.B * k.Tk * ldkv), rng.floatExact(k.NH * k.Tq * k.Tk))
            let ref = AttentionReference.forward(q: q, k: kk, v: v, B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, scale: k.scale,
                                                 causal: k.causal, keyPadding: k.pad, bias: bias, dropout: k.dropout, seed: 9)
            let dref = AttentionReference.backward(dout: g, q: q, k: kk, v: v, B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, scale: k.scale,
                                                   causal: k.causal, keyPadding: k.pad, bias: bias, dropout: k.dropout, seed: 9)
            // The buffers: q at column 1 of rows of ldq; k at column 0 and v at column D of rows of ldkv.
            let qBuf = strided(q, rows: k.B * k.Tq, D: D, ld: ldq, at: 1, fill: rng.floatExact(k.B * k.Tq * ldq))
            var kvBuf = strided(kk, rows: k.B * k.Tk, D: D, ld: ldkv, at: 0, fill: rng.floatExact(k.B * k.Tk * ldkv))
            kvBuf = strided(v, rows: k.B * k.Tk, D: D, ld: ldkv, at: D, fill: kvBuf)
            let dqExpected = zip(prior.0, strided(dref.dq, rows: k.B * k.Tq, D: D, ld: ldq, at: 1, fill: Array(repeating: 0, count: prior.0.count))).map(+)
            let dkvZero = Array(repeating: 0.0, count: prior.1.count)
            let dkv = strided(dref.dv, rows: k.B * k.Tk, D: D, ld: ldkv, at: D, fill: strided(dref.dk, rows: k.B * k.Tk, D: D, ld: ldkv, at: 0, fill: dkvZero))
            let dkvExpected = zip(prior.1, dkv).map(+)
            for block in [defaultBlock, 3] {
                Attention.rowBlock = block
                withThreadCounts { threads in
                    let tag = "\(k) block=\(block) threads=\(threads)"
                    let qb = Buf(doubles: qBuf), kvb = Buf(doubles: kvBuf), gb = Buf(doubles: g)
                    let biasBuf = bias.map { Buf(doubles: $0) }, pad = k.pad.map { Buf($0) }
                    let n = k.B * k.NH * k.Tq * k.Tk
                    let out = Buf<Float>(repeating: .nan, count: k.B * k.Tq * D), att = Buf<Float>(repeating: .nan, count: n)
                    let dropped = Buf<Float>(repeating: .nan, count: n)
                    Attention.forward(out: out.p, att: att.p, q: qb.c + 1, ldq: ldq, k: kvb.c, ldk: ldkv, v: kvb.c + D, ldv: ldkv,
                                      B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, scale: k.scale.map { Float($0) }, causal: k.causal,
                                      keyPadding: pad?.c, bias: biasBuf?.c, dropout: k.dropout, seed: 9, dropped: dropped.p)
                    assertClose(out.array, ref.out, "out \(tag)")
                    assertClose(att.array, ref.att, "att \(tag)")
                    let dq = Buf(doubles: prior.0), dkvb = Buf(doubles: prior.1), dbias = Buf(doubles: prior.2)
                    let scratch = Buf<Float>(repeating: .nan, count: n)
                    Attention.backward(dq: dq.p + 1, dk: dkvb.p, dv: dkvb.p + D, dbias: bias == nil ? nil : dbias.p, scratch: scratch.p,
                                       dout: gb.c, q: qb.c + 1, ldq: ldq, k: kvb.c, ldk: ldkv, v: kvb.c + D, ldv: ldkv, att: att.c,
                                       B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, scale: k.scale.map { Float($0) }, causal: k.causal,
                                       dropout: k.dropout, dropped: dropped.c)
                    assertClose(dq.array, dqExpected, "dq (and untouched columns) \(tag)")
                    assertClose(dkvb.array, dkvExpected, "dk, dv (and untouched columns) \(tag)")
                    if bias != nil { assertClose(dbias.array, zip(prior.2, dref.dbias).map(+), "dbias \(tag)") }
                }
            }
        }
    }

    /// `values` (rows, D) written at column `at` of rows of `ld` over a copy of `fill` (rows·ld).
    func strided(_ values: [Double], rows: Int, D: Int, ld: Int, at: Int, fill: [Double]) -> [Double] {
        var out = fill
        for r in 0..<rows { for c in 0..<D { out[r * ld + at + c] = values[r * D + c] } }
        return out
    }
}
