import Checkpoint
import CZstd
import XCTest

/// XXH64 against published vectors, against the checksums libzstd writes into its frames (the low
/// 32 bits of XXH64 of the content, an independent implementation), and incremental = one-shot.
final class XXH64Tests: XCTestCase {
    func testPublishedVectors() {
        XCTAssertEqual(XXH64.hash(Array("".utf8)), 0xEF46_DB37_51D8_E999)
        XCTAssertEqual(XXH64.hash(Array("a".utf8)), 0xD24E_C4F1_A98C_6E5B)
        XCTAssertEqual(XXH64.hash(Array("abc".utf8)), 0x44BC_2CF5_AD77_0999)
    }

    /// The low 32 bits of XXH64(seed 0) as libzstd computes them for a frame with a checksum.
    func zstdFrameChecksum(_ bytes: [UInt8]) -> UInt32 {
        let cctx = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(cctx) }
        XCTAssertEqual(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)), 0)
        var out = [UInt8](repeating: 0, count: Int(ZSTD_compressBound(bytes.count)))
        let n = out.withUnsafeMutableBytes { o in bytes.withUnsafeBytes { i in ZSTD_compress2(cctx, o.baseAddress, o.count, i.baseAddress, i.count) } }
        XCTAssertEqual(ZSTD_isError(n), 0)
        return UInt32(out[n - 4]) | UInt32(out[n - 3]) << 8 | UInt32(out[n - 2]) << 16 | UInt32(out[n - 1]) << 24
    }

    func testMatchesLibzstdFrameChecksumsForEveryTailLength() {
        var rng = SystemRandomNumberGenerator()
        for length in Array(0...70) + [1000, 4096, 100_003] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(UInt32(truncatingIfNeeded: XXH64.hash(bytes)), zstdFrameChecksum(bytes), "length \(length)")
        }
    }

    func testIncrementalUpdatesEqualOneShot() {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let whole = XXH64.hash(bytes, seed: 7)
        for _ in 0..<20 {
            var h = XXH64(seed: 7)
            var at = 0
            while at < bytes.count {
                let n = min(bytes.count - at, Int.random(in: 0...100, using: &rng))
                bytes.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[at..<(at + n)])) }
                at += n
            }
            XCTAssertEqual(h.digest(), whole)
        }
        XCTAssertNotEqual(XXH64.hash(bytes, seed: 8), whole, "the seed matters")
    }
}
