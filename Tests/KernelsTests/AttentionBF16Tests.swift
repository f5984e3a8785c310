import Kernels
import KernelsTestSupport
import XCTest

/// Attention's four products with bf16 operands (mixed precision), native and emulated, against a
/// Double reference on the same bf16-rounded operands. Each product is checked on the operands the
/// kernel rounded (Q, K, V, dout, and the kernel's own fp32 weights P and scores' gradient dS, which
/// are rounded before their products), so only fp32 accumulation separates kernel and reference: every
/// element within 1e-5 of Σ|terms| (at most 70 terms of size ≤ 4: fp32 accumulation errs by ≤ ~70·2⁻²⁴
/// of that sum). The fp32 parts between the products (softmax, its backward) are checked against the
/// Double softmax of the reference scores, to 1e-5.
final class AttentionBF16Tests: KernelTestCase {
    struct Case {
        let B, Tq, Tk, NH, hs: Int
        let causal: Bool
        var pad: [UInt8]? = nil
        var bias = false
        var dropout: Float = 0
    }

    func testProductsAgainstDoubleReferenceOnRoundedOperands() throws {
        let cases = [
            Case(B: 2, Tq: 37, Tk: 37, NH: 2, hs: 8, causal: true),                  // three causal row blocks of 16
            Case(B: 1, Tq: 20, Tk: 70, NH: 3, hs: 4, causal: true, bias: true),       // Tk > Tq: new tokens against a cache
            Case(B: 2, Tq: 7, Tk: 11, NH: 3, hs: 5, causal: false, pad: (0..<22).map { $0 % 5 == 2 ? 0 : 1 }, bias: true),
            Case(B: 2, Tq: 9, Tk: 9, NH: 2, hs: 6, causal: true, dropout: 0.25),
        ]
        let defaultBlock = Attention.rowBlock
        defer { Attention.rowBlock = defaultBlock }
        Attention.rowBlock = 16
        let paths = [try BF16Matmul(), try BF16Matmul(forceEmulated: true)]
        XCTAssertEqual(paths[0].path, BF16Matmul.cpuHasNativeBF16 ? .native : .emulated)
        for mm in paths {
            XCTAssertTrue(mm.attention)
            var rng = TestRNG(seed: 90)
            for k in cases { withThreadCounts([2]) { _ in check(k, mm, &rng) } }
        }
    }

    func check(_ k: Case, _ mm: BF16Matmul, _ rng: inout TestRNG) {
        let D = k.NH * k.hs, ldq = D + 2, ldkv = 2 * D + 1, n = k.B * k.NH * k.Tq * k.Tk
        let tag = "\(mm.path) \(k)"
        let qb = Buf(doubles: rng.floatExact(k.B * k.Tq * ldq, -2...2)), kvb = Buf(doubles: rng.floatExact(k.B * k.Tk * ldkv, -2...2))
        let biasBuf = k.bias ? Buf(doubles: rng.floatExact(k.NH * k.Tq * k.Tk)) : nil, pad = k.pad.map { Buf($0) }
        let dout = Buf(doubles: rng.floatExact(k.B * k.Tq * D))
        let prior = (Buf(doubles: rng.floatExact(k.B * k.Tq * ldq)), Buf(doubles: rng.floatExact(k.B * k.Tk * ldkv)))
        let (dq0, dkv0) = (prior.0.doubles, prior.1.doubles)
        let out = Buf<Float>(repeating: .nan, count: k.B * k.Tq * D), att = Buf<Float>(repeating: .nan, count: n)
        let dropped = Buf<Float>(repeating: .nan, count: n), scratch = Buf<Float>(repeating: .nan, count: n)
        Attention.forward(out: out.p, att: att.p, q: qb.c + 1, ldq: ldq, k: kvb.c, ldk: ldkv, v: kvb.c + D, ldv: ldkv,
                          B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, causal: k.causal, keyPadding: pad?.c, bias: biasBuf?.c,
                          dropout: k.dropout, seed: 3, dropped: dropped.p, precision: mm)
        Attention.backward(dq: prior.0.p + 1, dk: prior.1.p, dv: prior.1.p + D, scratch: scratch.p, dout: dout.c,
                           q: qb.c + 1, ldq: ldq, k: kvb.c, ldk: ldkv, v: kvb.c + D, ldv: ldkv, att: att.c,
                           B: k.B, Tq: k.Tq, Tk: k.Tk, NH: k.NH, hs: k.hs, causal: k.causal, dropout: k.dropout, dropped: dropped.c,
                           precision: mm)
        let r = { (x: Float) in Double(BF16Rounding.round(x)) }
        // Rounded operands, per (b, h): row i / key j, column c of head h.
        func Q(_ b: Int, _ h: Int, _ i: Int, _ c: Int) -> Double { r(qb.p[(b * k.Tq + i) * ldq + 1 + h * k.hs + c]) }
        func K(_ b: Int, _ h: Int, _ j: Int, _ c: Int) -> Double { r(kvb.p[(b * k.Tk + j) * ldkv + h * k.hs + c]) }
        func V(_ b: Int, _ h: Int, _ j: Int, _ c: Int) -> Double { r(kvb.p[(b * k.Tk + j) * ldkv + D + h * k.hs + c]) }
        func G(_ b: Int, _ h: Int, _ i: Int, _ c: Int) -> Double { r(dout.p[(b * k.Tq + i) * D + h * k.hs + c]) }
        let weights = k.dropout > 0 ? dropped : att
        func at(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Int { ((b * k.NH + h) * k.Tq + i) * k.Tk + j }
        let scale = 1 / Double(k.hs).squareRoot(), shift = k.Tk - k.Tq
        // dS as rounded for its products; a causal row's columns past its last key are not computed (0).
        func DS(_ b: Int, _ h: Int, _ i: Int, _ j: Int) -> Double { k.causal && j > i + shift ? 0 : r(scratch.p[at(b, h, i, j)]) }
        var worst: [String: Double] = [:]
        func expect(_ got: Float, _ terms: [Double], plus base: Double = 0, _ what: String) {
            let ref = terms.reduce(base, +), mag = terms.reduce(abs(base)) { $0 + abs($1) }
            worst[what] = max(worst[what] ?? 0, abs(Double(got) - ref) / max(mag, 1e-30))
        }
        for b in 0..<k.B {
            for h in 0..<k.NH {
                for i in 0..<k.Tq {
                    let valid = (0..<k.Tk).filter { j in (!k.causal || j <= i + shift) && (k.pad?[b * k.Tk + j] ?? 1) != 0 }
                    // P against the Double softmax of the scores on rounded Q, K (and the fp32 bias).
                    let s = valid.map { j in scale * (0..<k.hs).reduce(0.0) { $0 + Q(b, h, i, $1) * K(b, h, j, $1) }
                        + (biasBuf.map { Double($0.p[(h * k.Tq + i) * k.Tk + j]) } ?? 0) }
                    let m = s.max() ?? 0, e = s.map { exp($0 - m) }, z = e.reduce(0, +)
                    for (n, j) in valid.enumerated() { expect(att.p[at(b, h, i, j)], [e[n] / z], "softmax P") }
                    for c in 0..<k.hs {
                        expect(out.p[(b * k.Tq + i) * D + h * k.hs + c], (0..<k.Tk).map { r(weights.p[at(b, h, i, $0)]) * V(b, h, $0, c) }, "out = P·V")
                        let dq = (0..<k.Tk).map { scale * DS(b, h, i, $0) * K(b, h, $0, c) }
                        expect(prior.0.p[(b * k.Tq + i) * ldq + 1 + h * k.hs + c], dq, plus: dq0[(b * k.Tq + i) * ldq + 1 + h * k.hs + c], "dQ += scale·dS·K")
                    }
                    // dS = P ⊙ (dP' − Σ P ⊙ dP'), dP' = (dout·Vᵀ)·M/(1−p), from the kernel's fp32 P.
                    let dp = (0..<k.Tk).map { j in
                        let x = (0..<k.hs).reduce(0.0) { $0 + G(b, h, i, $1) * V(b, h, j, $1) }
                        return k.dropout > 0 ? (dropped.p[at(b, h, i, j)] != 0 ? x / (1 - Double(k.dropout)) : 0) : x
                    }
                    let p = (0..<k.Tk).map { Double(att.p[at(b, h, i, $0)]) }
                    let dot = zip(p, dp).reduce(0) { $0 + $1.0 * $1.1 }
                    for j in valid { expect(scratch.p[at(b, h, i, j)], [p[j] * dp[j], -p[j] * dot], "dS") }
                }
                for j in 0..<k.Tk {
                    for c in 0..<k.hs {
                        let o = (b * k.Tk + j) * ldkv + h * k.hs + c
                        expect(prior.1.p[o + D], (0..<k.Tq).map { r(weights.p[at(b, h, $0, j)]) * G(b, h, $0, c) }, plus: dkv0[o + D], "dV += Wᵀ·dout")
                        expect(prior.1.p[o], (0..<k.Tq).map { scale * DS(b, h, $0, j) * Q(b, h, $0, c) }, plus: dkv0[o], "dK += scale·dSᵀ·Q")
                    }
                }
            }
        }
        for (what, err) in worst { XCTAssertLessThanOrEqual(err, 1e-5, "\(tag): \(what)") }
        XCTAssertEqual(worst.count, 6, tag)
        // The columns beside the heads in the strided gradients are untouched.
        for row in 0..<(k.B * k.Tq) { XCTAssertEqual(prior.0.p[row * ldq], Float(dq0[row * ldq]), tag) }
    }

    /// The products of a step are made once per block shape: a second forward and backward adds no primitive.
    func testPrimitivesAreMadeOncePerShape() throws {
        let mm = try BF16Matmul()
        let B = 2, T = 40, NH = 2, hs = 8, C = NH * hs, n = B * NH * T * T
        var rng = TestRNG(seed: 4)
        let qkv = Buf(doubles: rng.floatExact(B * T * 3 * C)), g = Buf(doubles: rng.floatExact(B * T * C))
        let out = Buf<Float>(repeating: 0, count: B * T * C), att = Buf<Float>(repeating: 0, count: n)
        let dqkv = Buf<Float>(repeating: 0, count: B * T * 3 * C), scratch = Buf<Float>(repeating: 0, count: n)
        var counts: [Int] = []
        for _ in 0..<2 {
            Attention.forward(out: out.p, att: att.p, q: qkv.c, ldq: 3 * C, k: qkv.c + C, ldk: 3 * C, v: qkv.c + 2 * C, ldv: 3 * C,
                              B: B, Tq: T, Tk: T, NH: NH, hs: hs, causal: true, precision: mm)
            Attention.backward(dq: dqkv.p, dk: dqkv.p + C, dv: dqkv.p + 2 * C, scratch: scratch.p, dout: g.c, q: qkv.c, ldq: 3 * C,
                               k: qkv.c + C, ldk: 3 * C, v: qkv.c + 2 * C, ldv: 3 * C, att: att.c, B: B, Tq: T, Tk: T, NH: NH, hs: hs,
                               causal: true, precision: mm)
            counts.append(mm.primitiveCount)
        }
        // T 40 in blocks of 64 is one block: 2 forward products and 4 backward ones.
        XCTAssertEqual(counts, mm.path == .native ? [6, 6] : [0, 0])
    }
}
