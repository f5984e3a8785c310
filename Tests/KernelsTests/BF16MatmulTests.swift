import Kernels
import XCTest
import Support
import KernelsTestSupport

/// bf16 matmuls (native oneDNN and emulated sgemm) against a Double reference on the same bf16-rounded
/// operands: with exact products, only fp32 accumulation separates them, so every element must lie
/// within 1e-5 of Σ_k |a_ik·b_kj| (K ≤ 96 terms: fp32 accumulation errs by at most ~K·2⁻²⁴ ≈ 6e-6 of it).
final class BF16MatmulTests: KernelTestCase {
    /// The paths to check: native (where the CPU has bf16) and emulated (forced), both always run.
    func paths() throws -> [BF16Matmul] {
        let native = try BF16Matmul(), emulated = try BF16Matmul(forceEmulated: true)
        XCTAssertEqual(native.path, BF16Matmul.cpuHasNativeBF16 ? .native : .emulated)
        XCTAssertEqual(emulated.path, .emulated)
        return [native, emulated]
    }

    func testRoundingIsNearestEven() {
        let one = Float(1), ulp = Float(1) / 128   // bf16 spacing at 1 is 2⁻⁷
        XCTAssertEqual(BF16Rounding.round(one + ulp / 2), one)              // tie, 1 is even
        XCTAssertEqual(BF16Rounding.round(one + 3 * ulp / 2), one + 2 * ulp)  // tie, 1 + 2⁻⁶ is even
        XCTAssertEqual(BF16Rounding.round(one + ulp / 2 + ulp / 64), one + ulp)
        XCTAssertEqual(BF16Rounding.round(-.greatestFiniteMagnitude), -.infinity)   // rounds up past the largest bf16
        XCTAssertTrue(BF16Rounding.round(.nan).isNaN)
        // Bulk rounding (both representations) agrees with the scalar one, tails included.
        var rng = TestRNG(seed: 3)
        let src = Buf(doubles: rng.floatExact(37, -50...50))
        let bits = Buf<UInt16>(repeating: 0, count: 37), floats = Buf<Float>(repeating: 0, count: 37)
        BF16Rounding.round(src.c, into: UnsafeMutableRawPointer(bits.p), count: 37, native: true)
        BF16Rounding.round(src.c, into: UnsafeMutableRawPointer(floats.p), count: 37, native: false)
        for i in 0..<37 {
            let r = BF16Rounding.round(src.p[i])
            XCTAssertEqual(floats.p[i], r)
            XCTAssertEqual(Float(bitPattern: UInt32(bits.p[i]) << 16), r)
            XCTAssertLessThanOrEqual(abs(r - src.p[i]), abs(src.p[i]) / 256)
        }
        // NaNs stay NaN (not ∞, which a carry out of a NaN's fraction would give); ±∞ stay ±∞.
        let special = Buf<Float>([.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFF80_0001), .infinity, -.infinity])
        BF16Rounding.round(special.c, into: UnsafeMutableRawPointer(floats.p), count: 5, native: false)
        BF16Rounding.round(special.c, into: UnsafeMutableRawPointer(bits.p), count: 5, native: true)
        for i in 0..<3 {
            XCTAssertTrue(floats.p[i].isNaN, "\(i)")
            XCTAssertTrue(Float(bitPattern: UInt32(bits.p[i]) << 16).isNaN, "\(i)")
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: floats.p + 3, count: 2)), [.infinity, -.infinity])
    }

    /// op(A)·op(B) [+ C] for every transpose combination, contiguous and strided, beta 0 and 1.
    func testEveryShapeAgainstDoubleReference() throws {
        for mm in try paths() {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                for strided in [false, true] {
                    for beta: Float in [0, 1] {
                        try check(mm, transA: transA, transB: transB, M: 37, N: 45, K: 96, pad: strided ? 7 : 0, beta: beta)
                    }
                }
            }
            try check(mm, transA: false, transB: false, M: 1, N: 3, K: 1, pad: 0, beta: 0)
        }
    }

    func check(_ mm: BF16Matmul, transA: Bool, transB: Bool, M: Int, N: Int, K: Int, pad: Int, beta: Float,
               file: StaticString = #filePath, line: UInt = #line) throws {
        var rng = TestRNG(seed: UInt64(M * 7 + N + K + pad))
        let (aRows, aCols) = transA ? (K, M) : (M, K), (bRows, bCols) = transB ? (N, K) : (K, N)
        let lda = aCols + pad, ldb = bCols + pad, ldc = N + pad
        let a = Buf(doubles: rng.floatExact(aRows * lda, -2...2)), b = Buf(doubles: rng.floatExact(bRows * ldb, -2...2))
        let c0 = rng.floatExact(M * ldc)
        let c = Buf(doubles: c0)
        withThreadCounts([2]) { _ in
            let ra = mm.round(a.c, rows: aRows, cols: aCols, ld: lda, slot: 0)
            let rb = mm.round(b.c, rows: bRows, cols: bCols, ld: ldb, slot: 1)
            mm.multiply(transA: transA, transB: transB, M: M, N: N, K: K, A: ra, lda: aCols, B: rb, ldb: bCols,
                        beta: beta, C: c.p, ldc: ldc)
        }
        func A(_ i: Int, _ k: Int) -> Double { Double(BF16Rounding.round(transA ? a.p[k * lda + i] : a.p[i * lda + k])) }
        func B(_ k: Int, _ j: Int) -> Double { Double(BF16Rounding.round(transB ? b.p[j * ldb + k] : b.p[k * ldb + j])) }
        for i in 0..<M {
            for j in 0..<N {
                var s = beta == 1 ? c0[i * ldc + j] : 0, mag = abs(s)
                for k in 0..<K { s += A(i, k) * B(k, j); mag += abs(A(i, k) * B(k, j)) }
                let got = Double(c.p[i * ldc + j])
                if abs(got - s) > 1e-5 * mag {
                    XCTFail("\(mm.path) tA \(transA) tB \(transB) pad \(pad) beta \(beta) [\(i),\(j)]: \(got) vs \(s)", file: file, line: line)
                    return
                }
            }
            for j in N..<ldc { XCTAssertEqual(Double(c.p[i * ldc + j]), c0[i * ldc + j], "padding untouched", file: file, line: line) }
        }
    }

    /// Linear's bf16 forward and both backward products, both weight layouts, one chunk and several.
    func testLinearAgainstDoubleReference() throws {
        let saved = Linear.chunkElements
        defer { Linear.chunkElements = saved }
        let N = 150, IC = 40, OC = 56
        var rng = TestRNG(seed: 11)
        let x = Buf(doubles: rng.floatExact(N * IC)), w = Buf(doubles: rng.floatExact(IC * OC)), bias = Buf(doubles: rng.floatExact(OC))
        let dout = Buf(doubles: rng.floatExact(N * OC))
        let r = { (p: UnsafeMutablePointer<Float>, n: Int) in (0..<n).map { Double(BF16Rounding.round(p[$0])) } }
        let (rx, rw, rd) = (r(x.p, N * IC), r(w.p, IC * OC), r(dout.p, N * OC))
        for mm in try paths() {
            for chunk in [16 << 20, 64 * OC] {
                Linear.chunkElements = chunk
                for transposed in [false, true] {
                    let out = Buf<Float>(repeating: 0, count: N * OC), dx = Buf<Float>(repeating: 0, count: N * IC)
                    let dw = Buf<Float>(repeating: 0, count: IC * OC), db = Buf<Float>(repeating: 0, count: OC)
                    let refOut: [Double], refBack: (dinp: [Double], dweight: [Double])
                    if transposed {
                        Linear.forwardTransposed(out: out.p, inp: x.c, weight: w.c, bias: bias.c, N: N, IC: IC, OC: OC, precision: mm)
                        Linear.backwardTransposed(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: dout.c, inp: x.c, weight: w.c, N: N, IC: IC, OC: OC, precision: mm)
                        refOut = zip(LinearReference.forwardTransposed(inp: rx, weight: rw, N: N, IC: IC, OC: OC), (0..<N * OC)).map { $0 + Double(bias.p[$1 % OC]) }
                        refBack = LinearReference.backwardTransposed(dout: rd, inp: rx, weight: rw, N: N, IC: IC, OC: OC)
                    } else {
                        Linear.forward(out: out.p, inp: x.c, weight: w.c, bias: bias.c, N: N, IC: IC, OC: OC, precision: mm)
                        Linear.backward(dinp: dx.p, dweight: dw.p, dbias: db.p, dout: dout.c, inp: x.c, weight: w.c, N: N, IC: IC, OC: OC, precision: mm)
                        refOut = LinearReference.forward(inp: rx, weight: rw, bias: bias.doubles, N: N, IC: IC, OC: OC)
                        let full = LinearReference.backward(dout: rd, inp: rx, weight: rw, N: N, IC: IC, OC: OC)
                        refBack = (full.dinp, full.dweight)
                    }
                    let what = "\(mm.path) chunk \(chunk) transposed \(transposed)"
                    assertClose(out.doubles, refOut, scale: Double(IC), what + " out")
                    assertClose(dx.doubles, refBack.dinp, scale: Double(OC), what + " dinp")
                    assertClose(dw.doubles, refBack.dweight, scale: Double(N), what + " dweight")
                    // The bias gradient stays fp32: the unrounded d(out) summed.
                    let refDb = (0..<OC).map { o in (0..<N).reduce(0.0) { $0 + Double(dout.p[$1 * OC + o]) } }
                    assertClose(db.doubles, refDb, scale: Double(N), what + " dbias")
                }
            }
        }
    }

    /// An input kept rounded (`roundedInput`, how the blocks store their linear layers' inputs) gives
    /// the same bits as rounding the fp32 input inside the call, forward and backward, both layouts.
    func testPreRoundedInputGivesTheSameBits() throws {
        let N = 70, IC = 24, OC = 40
        var rng = TestRNG(seed: 5)
        let x = Buf(doubles: rng.floatExact(N * IC)), w = Buf(doubles: rng.floatExact(IC * OC)), dout = Buf(doubles: rng.floatExact(N * OC))
        for mm in try paths() {
            let kept = UnsafeMutableRawPointer.allocate(byteCount: N * IC * mm.elementSize, alignment: 64)
            defer { kept.deallocate() }
            BF16Rounding.round(x.c, into: kept, count: N * IC, native: mm.path == .native)
            for transposed in [false, true] {
                var runs: [[Float]] = []
                for rounded in [nil, UnsafeRawPointer(kept)] {
                    let out = Buf<Float>(repeating: 0, count: N * OC), dx = Buf<Float>(repeating: 0, count: N * IC)
                    let dw = Buf<Float>(repeating: 0, count: IC * OC)
                    if transposed {
                        Linear.forwardTransposed(out: out.p, inp: x.c, weight: w.c, N: N, IC: IC, OC: OC, precision: mm, roundedInput: rounded)
                        Linear.backwardTransposed(dinp: dx.p, dweight: dw.p, dout: dout.c, inp: x.c, weight: w.c, N: N, IC: IC, OC: OC,
                                                  precision: mm, roundedInput: rounded)
                    } else {
                        Linear.forward(out: out.p, inp: x.c, weight: w.c, bias: nil, N: N, IC: IC, OC: OC, precision: mm, roundedInput: rounded)
                        Linear.backward(dinp: dx.p, dweight: dw.p, dbias: nil, dout: dout.c, inp: x.c, weight: w.c, N: N, IC: IC, OC: OC,
                                        precision: mm, roundedInput: rounded)
                    }
                    runs.append(out.array + dx.array + dw.array)
                }
                XCTAssertEqual(runs[0].map(\.bitPattern), runs[1].map(\.bitPattern), "\(mm.path) transposed \(transposed)")
            }
        }
    }

    /// |got − ref| ≤ 1e-5 · scale (operands in [−1, 1]: Σ|a·b| over `scale` terms is at most `scale`).
    func assertClose(_ got: [Double], _ ref: [Double], scale: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, ref.count, what, file: file, line: line)
        let worst = zip(got, ref).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5 * scale, what, file: file, line: line)
    }

    /// A primitive is made once per shape: repeating a product adds none.
    func testPrimitivesAreCachedPerShape() throws {
        let mm = try BF16Matmul()
        let a = Buf<Float>(repeating: 0.5, count: 64 * 64), c = Buf<Float>(repeating: 0, count: 64 * 64)
        let ra = mm.round(a.c, rows: 64, cols: 64, slot: 0)
        for _ in 0..<3 { mm.multiply(transA: false, transB: true, M: 64, N: 64, K: 64, A: ra, lda: 64, B: ra, ldb: 64, beta: 0, C: c.p, ldc: 64) }
        XCTAssertEqual(mm.primitiveCount, mm.path == .native ? 1 : 0)
        XCTAssertEqual(c.p[0], 16)
    }

    /// AdamW's fused rounded copy is the rounding of the parameters it wrote, bit for bit.
    func testAdamWWritesRoundedWeights() throws {
        var rng = TestRNG(seed: 5)
        let n = 53
        let p = Buf(doubles: rng.floatExact(n)), g = Buf(doubles: rng.floatExact(n))
        let m = Buf<Float>(repeating: 0, count: n), v = Buf<Float>(repeating: 0, count: n)
        for mm in try paths() {
            mm.attach(weights: p.c, count: n)
            AdamW.step(params: p.p, grads: g.c, m: m.p, v: v.p, count: n, lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8,
                       weightDecay: 0.1, t: 1, rounded: mm.roundedWeights(at: 0))
            let copy = mm.weight(p.c, count: n, slot: 0)
            for i in 0..<n {
                let got = mm.path == .native ? Float(bitPattern: UInt32(copy.load(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                    : copy.load(fromByteOffset: 4 * i, as: Float.self)
                XCTAssertEqual(got, BF16Rounding.round(p.p[i]))
            }
        }
    }
}
