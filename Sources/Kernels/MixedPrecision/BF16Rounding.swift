import Support

/// Rounding fp32 to bfloat16 (nearest, ties to even) in bulk, into either representation the bf16
/// matmul uses: 16-bit bf16 values (native path) or fp32 values whose low 16 bits are zero (emulated
/// path, the same numbers fed to sgemm).
///
/// Shapes: src (rows, cols) with row stride `ld`, written packed (rows, cols) into dst.
public enum BF16Rounding {
    /// The 32-bit patterns of `x` rounded to bfloat16 (low 16 bits zero). NaNs become the quiet NaN
    /// 0x7FC00000 first (found by a float compare: integer compare-and-select on 16 lanes compiles to
    /// scalar code here, 20x slower), so rounding cannot carry a NaN into ±∞.
    @inline(__always)
    static func round16(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
        let clean = x.replacing(with: Float(bitPattern: 0x7FC0_0000), where: x .!= x)
        let bits = unsafeBitCast(clean, to: SIMD16<UInt32>.self)
        let lsb = (bits &<< SIMD16(repeating: 15)) &>> SIMD16(repeating: 31)   // bit 16, the lowest kept
        return (bits &+ SIMD16(repeating: 0x7FFF) &+ lsb) & SIMD16(repeating: 0xFFFF_0000)
    }

    /// `x` rounded to the nearest bfloat16, as a Float (NaN stays NaN).
    @inline(__always)
    public static func round(_ x: Float) -> Float {
        let bits = x.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 { return x }
        return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    }

    /// Stores 16 rounded values at element `i` of `dst`: bf16 bits (`native`) or rounded floats.
    @inline(__always)
    static func store16(_ dst: UnsafeMutableRawPointer, _ i: Int, _ v: SIMD16<Float>, native: Bool) {
        let r = round16(v)
        if native {
            (dst + 2 * i).storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: r &>> SIMD16(repeating: 16)), as: SIMD16<UInt16>.self)
        } else {
            (dst + 4 * i).storeBytes(of: r, as: SIMD16<UInt32>.self)
        }
    }

    /// Stores the first `n` (< 16) rounded values of `v` at element `i` of `dst`.
    @inline(__always)
    static func storePartial16(_ dst: UnsafeMutableRawPointer, _ i: Int, _ n: Int, _ v: SIMD16<Float>, native: Bool) {
        let r = round16(v)
        for k in 0..<n {
            if native {
                (dst + 2 * (i + k)).storeBytes(of: UInt16(truncatingIfNeeded: r[k] >> 16), as: UInt16.self)
            } else {
                (dst + 4 * (i + k)).storeBytes(of: r[k], as: UInt32.self)
            }
        }
    }

    /// Rounds `count` contiguous floats from `src` into `dst` (2 or 4 bytes per element). Parallel.
    public static func round(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int, native: Bool) {
        Parallel.chunks((count + 15) / 16, minChunk: 2048) { range in
            roundRun(src, into: dst, from: range.lowerBound * 16, to: min(count, range.upperBound * 16), native: native)
        }
    }

    /// Rounds the (rows, cols) matrix at `src` with row stride `ld` into packed `dst`. Parallel over rows.
    public static func round(_ src: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int, into dst: UnsafeMutableRawPointer, native: Bool) {
        if ld == cols { return round(src, into: dst, count: rows * cols, native: native) }
        let size = native ? 2 : 4
        Parallel.chunks(rows, minChunk: max(1, 32_768 / max(1, cols))) { range in
            for r in range {
                roundRun(src + r * ld, into: dst + r * cols * size, from: 0, to: cols, native: native)
            }
        }
    }

    /// Rounds elements [lo, hi) of `src` into the same elements of `dst`.
    @inline(__always)
    static func roundRun(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, from lo: Int, to hi: Int, native: Bool) {
        var i = lo
        while i + 16 <= hi { store16(dst, i, src.load16(i), native: native); i += 16 }
        if i < hi { storePartial16(dst, i, hi - i, src.loadPartial16(i, hi - i), native: native) }
    }
}
