/// Byte-plane shuffle of 32-bit floats: all first bytes, then all second bytes, and so on.
///
/// The exponent and high mantissa bytes of neighbouring weights are alike, so grouping each byte
/// position into its own plane gives zstd long runs of similar bytes to work with (the same idea as
/// Blosc's and HDF5's shuffle filters). `unshuffle` is its exact inverse.
public enum ByteShuffle {
    /// Writes the 4 byte planes of `count` floats at `source` to `planes` (4·count bytes): byte b of
    /// element i goes to `planes[b·count + i]`.
    public static func shuffle(_ source: UnsafePointer<Float>, count: Int, into planes: UnsafeMutablePointer<UInt8>) {
        let words = UnsafeRawPointer(source).assumingMemoryBound(to: UInt32.self)
        let p0 = planes, p1 = planes + count, p2 = planes + 2 * count, p3 = planes + 3 * count
        for i in 0..<count {
            let w = UInt32(littleEndian: words[i])
            p0[i] = UInt8(truncatingIfNeeded: w)
            p1[i] = UInt8(truncatingIfNeeded: w >> 8)
            p2[i] = UInt8(truncatingIfNeeded: w >> 16)
            p3[i] = UInt8(truncatingIfNeeded: w >> 24)
        }
    }

    /// Reassembles `count` floats from their 4 byte planes (the inverse of `shuffle`).
    public static func unshuffle(_ planes: UnsafePointer<UInt8>, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let words = UnsafeMutableRawPointer(destination).assumingMemoryBound(to: UInt32.self)
        let p0 = planes, p1 = planes + count, p2 = planes + 2 * count, p3 = planes + 3 * count
        for i in 0..<count {
            let w = UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24
            words[i] = w.littleEndian
        }
    }
}
