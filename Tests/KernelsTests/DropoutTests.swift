import Kernels
import KernelsTestSupport
import XCTest
import Support

final class DropoutTests: KernelTestCase {
    /// The hash written out again with scalar UInt32 arithmetic: SplitMix64 keys, triple32(lo ⊕ k0),
    /// ⊕ (hi ⊕ k1), lowbias32, top 24 bits ≥ round(p·2^24).
    func scalarKeep(seed: UInt64, index: UInt64, p: Float) -> Bool {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        var h = UInt32(truncatingIfNeeded: index) ^ UInt32(truncatingIfNeeded: z)
        h ^= h >> 17; h = h &* 0xED5A_D4BB
        h ^= h >> 11; h = h &* 0xAC4C_1B51
        h ^= h >> 15; h = h &* 0x3184_8BAB
        h ^= h >> 14
        h ^= UInt32(truncatingIfNeeded: index >> 32) ^ UInt32(truncatingIfNeeded: z >> 32)
        h ^= h >> 16; h = h &* 0x7FEB_352D
        h ^= h >> 15; h = h &* 0x846C_A68B
        h ^= h >> 16
        return Int(h >> 8) >= Int((Double(p) * 16_777_216).rounded())
    }

    func mask(count: Int, p: Float, seed: UInt64, offset: UInt64 = 0, threads: Int = 1) -> [UInt8] {
        var result: [UInt8] = []
        withThreadCounts([threads]) { _ in
            let x = Buf<Float>(repeating: 1, count: count), out = Buf<Float>(repeating: 0, count: count)
            let m = Buf<UInt8>(repeating: 7, count: count)
            Dropout.forward(out: out.p, mask: m.p, inp: x.c, count: count, p: p, seed: seed, offset: offset)
            result = m.array
        }
        return result
    }

    /// The vector kernel's mask equals the scalar definition element by element, offsets included
    /// (one offset crosses 2^32 so the high counter word is exercised).
    func testMaskMatchesScalarHash() {
        for (seed, offset) in [(UInt64(1), UInt64(0)), (42, 12345), (7, (1 << 32) - 5)] {
            let m = mask(count: 10_007, p: 0.3, seed: seed, offset: offset)
            for i in 0..<m.count {
                XCTAssertEqual(m[i] == 1, scalarKeep(seed: seed, index: offset + UInt64(i), p: 0.3), "seed \(seed) i \(i)")
                if (m[i] == 1) != scalarKeep(seed: seed, index: offset + UInt64(i), p: 0.3) { return }
            }
            XCTAssertEqual(Dropout.keeps(seed: seed, index: offset + 5, p: 0.3), m[5] == 1)
        }
    }

    /// Same (seed, index) gives the same decision whatever the thread count or how the range is cut.
    func testMaskIndependentOfThreadsAndOffsets() {
        let whole = mask(count: 300_001, p: 0.1, seed: 99, threads: 1)
        XCTAssertEqual(mask(count: 300_001, p: 0.1, seed: 99, threads: 2), whole)
        XCTAssertEqual(mask(count: 1000, p: 0.1, seed: 99, offset: 123_457, threads: 2), Array(whole[123_457..<124_457]))
        XCTAssertNotEqual(mask(count: 1000, p: 0.1, seed: 100), Array(whole[0..<1000]))
    }

    /// Keep rate and pairwise independence within 5 binomial standard deviations.
    func testKeepRateStatistics() {
        let n = 1_000_000
        for p in [0.1, 0.5] as [Float] {
            let m = mask(count: n, p: p, seed: 2024, threads: 2)
            let kept = m.reduce(0) { $0 + Int($1) }
            let q = 1 - Double(p)
            XCTAssertEqual(Double(kept), Double(n) * q, accuracy: 5 * (Double(n) * q * (1 - q)).squareRoot(), "p \(p)")
            var both = 0
            for i in stride(from: 0, to: n - 1, by: 2) where m[i] == 1 && m[i + 1] == 1 { both += 1 }
            let pairs = Double(n / 2), q2 = q * q
            XCTAssertEqual(Double(both), pairs * q2, accuracy: 5 * (pairs * q2 * (1 - q2)).squareRoot(), "pairs p \(p)")
        }
    }

    /// Reference backward vs central differences of the reference forward for a fixed mask, to 1e-6.
    func testReferenceBackwardMatchesFiniteDifferences() {
        var rng = TestRNG(seed: 91)
        let x = rng.doubles(11), r = rng.doubles(11)
        let mask: [UInt8] = [1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1]
        assertGradientsMatch(DropoutReference.backward(dout: r, mask: mask, p: 0.4),
                             numericalGradient(x) { dot(DropoutReference.forward(inp: $0, mask: mask, p: 0.4), r) }, "dinp")
    }

    /// Kept elements are scaled by 1/(1 − p), dropped ones are 0, backward accumulates dout·mask/(1 − p);
    /// checked against the Double reference (rtol 1e-6) at 1 and 2 threads; p = 0 copies, p = 1 zeroes.
    func testScalingForwardBackward() {
        var rng = TestRNG(seed: 90)
        let count = 4099, p: Float = 0.25
        let x = rng.floatExact(count), g = rng.floatExact(count), prior = rng.floatExact(count)
        withThreadCounts { threads in
            let inp = Buf(doubles: x), out = Buf<Float>(repeating: .nan, count: count)
            let m = Buf<UInt8>(repeating: 9, count: count)
            Dropout.forward(out: out.p, mask: m.p, inp: inp.c, count: count, p: p, seed: 5)
            let mask = m.array
            XCTAssertTrue(mask.allSatisfy { $0 <= 1 })
            assertClose(out.array, DropoutReference.forward(inp: x, mask: mask, p: Double(p)), rtol: 1e-6, atol: 0,
                        "forward threads=\(threads)")
            let dinp = Buf(doubles: prior), dout = Buf(doubles: g)
            Dropout.backward(dinp: dinp.p, dout: dout.c, mask: m.c, count: count, p: p)
            let expected = zip(prior, DropoutReference.backward(dout: g, mask: mask, p: Double(p))).map(+)
            assertClose(dinp.array, expected, rtol: 1e-6, atol: 1e-7, "backward threads=\(threads)")
            Dropout.forward(out: out.p, mask: m.p, inp: inp.c, count: count, p: 0, seed: 5)
            XCTAssertEqual(out.array, x.map { Float($0) })
            XCTAssertTrue(m.array.allSatisfy { $0 == 1 })
            Dropout.forward(out: out.p, mask: m.p, inp: inp.c, count: count, p: 1, seed: 5)
            XCTAssertTrue(out.array.allSatisfy { $0 == 0 })
            XCTAssertTrue(m.array.allSatisfy { $0 == 0 })
        }
    }
}
