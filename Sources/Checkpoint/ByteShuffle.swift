/// Byte-plane shuffle of 32-bit floats: all first bytes, then all second bytes, and so on.
///
/// The exponent and high mantissa bytes of neighbouring weights are alike, so grouping each byte
/// position into its own plane gives zstd long runs of similar bytes to work with (the same idea as
/// Blosc's and HDF5's shuffle filters). `unshuffle` is its exact inverse. Both move 16 values per
/// iteration through SIMD registers (the scalar loop ran at ~0.7 GB/s and bounded the save speed),
/// with a scalar tail.
public enum ByteShuffle {
    /// Values per SIMD iteration.
    private static let lanes = 16

    /// Writes the 4 byte planes of `count` floats at `source` to `planes` (4·count bytes): byte b of
    /// element i goes to `planes[b·count + i]`.
    public static func shuffle(_ source: UnsafePointer<Float>, count: Int, into planes: UnsafeMutablePointer<UInt8>) {
        let words = UnsafeRawPointer(source)
        let p0 = UnsafeMutableRawPointer(planes), p1 = p0 + count, p2 = p0 + 2 * count, p3 = p0 + 3 * count
        var i = 0
        while i + lanes <= count {
            let w = words.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
            p0.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: w), toByteOffset: i, as: SIMD16<UInt8>.self)
            p1.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: w &>> 8), toByteOffset: i, as: SIMD16<UInt8>.self)
            p2.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: w &>> 16), toByteOffset: i, as: SIMD16<UInt8>.self)
            p3.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: w &>> 24), toByteOffset: i, as: SIMD16<UInt8>.self)
            i += lanes
        }
        let scalar = words.assumingMemoryBound(to: UInt32.self)
        while i < count {
            let w = UInt32(littleEndian: scalar[i])
            planes[i] = UInt8(truncatingIfNeeded: w)
            planes[count + i] = UInt8(truncatingIfNeeded: w >> 8)
            planes[2 * count + i] = UInt8(truncatingIfNeeded: w >> 16)
            planes[3 * count + i] = UInt8(truncatingIfNeeded: w >> 24)
            i += 1
        }
    }

    /// Reassembles `count` floats from their 4 byte planes (the inverse of `shuffle`).
    public static func unshuffle(_ planes: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let out = UnsafeMutableRawPointer(destination)
        let p0 = UnsafeRawPointer(planes), p1 = p0 + count, p2 = p0 + 2 * count, p3 = p0 + 3 * count
        var i = 0
        while i + lanes <= count {
            let b0 = SIMD16<UInt32>(truncatingIfNeeded: p0.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            let b1 = SIMD16<UInt32>(truncatingIfNeeded: p1.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            let b2 = SIMD16<UInt32>(truncatingIfNeeded: p2.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            let b3 = SIMD16<UInt32>(truncatingIfNeeded: p3.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
            out.storeBytes(of: b0 | b1 &<< 8 | b2 &<< 16 | b3 &<< 24, toByteOffset: 4 * i, as: SIMD16<UInt32>.self)
            i += lanes
        }
        let words = out.assumingMemoryBound(to: UInt32.self)
        while i < count {
            let w = UInt32(planes[i]) | UInt32(planes[count + i]) << 8 | UInt32(planes[2 * count + i]) << 16
                | UInt32(planes[3 * count + i]) << 24
            words[i] = w.littleEndian
            i += 1
        }
    }
}
