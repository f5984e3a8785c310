import Distributed
import Foundation
import XCTest

/// bfloat16 rounding and reduction, against values computed here independently (in Double, by
/// choosing the nearer of the two neighbouring bfloat16 values).
final class BFloat16Tests: XCTestCase {
    /// The nearest bfloat16 to `x` by explicit comparison of the two candidates (ties to even).
    func reference(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let bits = x.bitPattern
        let toward = bits & 0xFFFF_0000                // |toward| ≤ |x|
        let away = toward &+ 0x0001_0000                // the next bfloat16 away from zero
        let lo = Double(Float(bitPattern: toward))
        // Past the largest finite value the next candidate is 2¹²⁸ (IEEE rounds to ∞ from there on).
        let hi = away & 0x7FFF_FFFF == 0x7F80_0000 ? (x < 0 ? -0x1p128 : 0x1p128) : Double(Float(bitPattern: away))
        let dLo = abs(Double(x) - lo), dHi = abs(hi - Double(x))
        if dLo < dHi { return UInt16(toward >> 16) }
        if dHi < dLo { return UInt16(away >> 16) }
        return (toward >> 16) & 1 == 0 ? UInt16(toward >> 16) : UInt16(away >> 16)
    }

    func testRoundsToNearestEvenLikeTheReference() {
        var rng = SystemRandomNumberGenerator()
        var values: [Float] = [0, -0, 1, -1, 1.00390625, 1.01171875, 3.1415927, 65504, Float(bitPattern: 0x0001_1234), -Float(bitPattern: 0x001B_8000),
                               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity,
                               Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), Float(bitPattern: 0x7F7F_8000)]
        for _ in 0..<20_000 {
            let bits = UInt32.random(in: 0...UInt32.max, using: &rng)
            let x = Float(bitPattern: bits)
            if !x.isNaN { values.append(x) }
        }
        var converted = [BFloat16](repeating: BFloat16(bitPattern: 0), count: values.count)
        values.withUnsafeBufferPointer { src in
            converted.withUnsafeMutableBufferPointer { BFloat16.convert(src.baseAddress!, to: $0.baseAddress!, count: src.count) }
        }
        for (x, b) in zip(values, converted) {
            let expected = reference(x)
            XCTAssertEqual(b.bitPattern, expected, "\(x) (0x\(String(x.bitPattern, radix: 16)))")
            XCTAssertEqual(BFloat16(x).bitPattern, expected, "scalar init of \(x)")
        }
        XCTAssertEqual(BFloat16(Float(bitPattern: 0x3F80_8000)).bitPattern, 0x3F80, "a tie rounds to the even neighbour (down)")
        XCTAssertEqual(BFloat16(Float(bitPattern: 0x3F81_8000)).bitPattern, 0x3F82, "a tie rounds to the even neighbour (up)")
        XCTAssertEqual(BFloat16(Float(bitPattern: 0x7F7F_8000)).float, .infinity, "rounding past the largest finite value gives ∞")
    }

    func testNaNStaysNaNAndWideningIsExact() {
        for bits: UInt32 in [0x7F80_0001, 0x7FC0_0000, 0xFF80_0001, 0x7FFF_FFFF] {
            XCTAssertTrue(BFloat16(Float(bitPattern: bits)).float.isNaN, "0x\(String(bits, radix: 16)) must stay NaN, not become ∞")
        }
        let all = (0...UInt16.max).map { BFloat16(bitPattern: $0) }
        var widened = [Float](repeating: 0, count: all.count)
        all.withUnsafeBufferPointer { src in
            widened.withUnsafeMutableBufferPointer { BFloat16.widen(src.baseAddress!, to: $0.baseAddress!, count: src.count) }
        }
        for (b, f) in zip(all, widened) {
            XCTAssertEqual(f.bitPattern, UInt32(b.bitPattern) << 16)
            if !f.isNaN { XCTAssertEqual(BFloat16(f).bitPattern, b.bitPattern, "every bfloat16 survives a round trip") }
        }
    }

    func testInProcessSumRoundsEachPairwiseFloatSumOnce() throws {
        // Three ranks: the in-process communicator combines ranks in order 0, 1, 2, each addition done
        // in Float and rounded to bfloat16 once.
        var rng = SystemRandomNumberGenerator()
        let n = 3, count = 4099
        let inputs = (0..<n).map { _ in (0..<count).map { _ in BFloat16(Float.random(in: -4...4, using: &rng)) } }
        let results = try InProcessGroup.run(size: n) { comm -> [BFloat16] in
            var x = inputs[comm.rank]
            try comm.allreduce(&x, op: .sum)
            return x
        }
        for i in 0..<count {
            let first = reference(inputs[0][i].float + inputs[1][i].float)
            let expected = reference(Float(bitPattern: UInt32(first) << 16) + inputs[2][i].float)
            for r in 0..<n { XCTAssertEqual(results[r][i].bitPattern, expected, "rank \(r) element \(i)") }
        }
        let averaged = try InProcessGroup.run(size: 2) { comm -> [BFloat16] in
            var x = Array(inputs[comm.rank].prefix(64))
            try comm.allreduce(&x, op: .average)
            return x
        }
        for i in 0..<64 {
            let sum = Float(bitPattern: UInt32(reference(inputs[0][i].float + inputs[1][i].float)) << 16)
            XCTAssertEqual(averaged[0][i].bitPattern, reference(sum / 2), "average: one rounded Float division of the rounded sum")
        }
    }

    func testCompressedAllreducerHalvesTheBytesAndAverages() throws {
        let count = 10_000
        let results = try InProcessGroup.run(size: 2) { comm -> ([Float], Int) in
            let counted = InstrumentedCommunicator(wrapping: comm)
            var grads = (0..<count).map { Float($0 % 97) * 0.125 + Float(comm.rank) }
            let timing = try grads.withUnsafeMutableBufferPointer { buffer -> GradientAllreducer.Timing in
                let reducer = try GradientAllreducer(comm: counted, buffer: buffer.baseAddress!, count: count, bucketElements: 3000,
                                                 compression: .bf16, op: .average)
                reducer.begin()
                for upper in stride(from: count, to: 0, by: -1000) { reducer.markReady(max(0, upper - 1000)..<upper) }
                return try reducer.finish()
            }
            XCTAssertEqual(timing.buckets, 4)
            XCTAssertEqual(timing.bytes, count * 2)
            return (grads, counted.stats.bytes(.allreduceAsync))
        }
        for (grads, sent) in results {
            XCTAssertEqual(sent, count * 2, "bfloat16 on the wire: half of \(count * 4) bytes")
            for i in 0..<count {
                // (x + (x + 1)) / 2 with x a multiple of 1/8 below 12.125: exact in bfloat16 up to 8 bits.
                let x = Float(i % 97) * 0.125
                let sum = Float(bitPattern: UInt32(reference(BFloat16(x).float + BFloat16(x + 1).float)) << 16)
                XCTAssertEqual(grads[i], sum / 2, "element \(i)")
            }
        }
    }
}
