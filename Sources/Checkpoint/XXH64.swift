/// XXH64, the 64-bit xxHash of Yann Collet (the checksum zstd puts in its frames), computed
/// incrementally: `update` any number of times, then `digest`.
///
/// Checkpoint shards carry the XXH64 (seed 0) of their uncompressed bytes. Implemented here from the
/// specification (xxhash.com, "xxHash fast digest algorithm"); tested against published vectors and
/// against the frame checksums libzstd itself writes.
public struct XXH64 {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private let seed: UInt64
    private var v1: UInt64, v2: UInt64, v3: UInt64, v4: UInt64
    private var total: UInt64 = 0
    /// Up to 31 bytes not yet consumed as a whole 32-byte stripe.
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0

    /// A fresh hash state.
    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ Self.p1 &+ Self.p2
        v2 = seed &+ Self.p2
        v3 = seed
        v4 = seed &- Self.p1
    }

    /// The hash of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = XXH64(seed: seed)
        h.update(bytes)
        return h.digest()
    }

    /// The hash of a byte array.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) static func merge(_ acc: UInt64, _ value: UInt64) -> UInt64 {
        (acc ^ round(0, value)) &* p1 &+ p4
    }

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        total &+= UInt64(n)
        if pendingCount > 0 {
            let take = min(32 - pendingCount, n)
            let at = pendingCount, from = p
            withUnsafeMutableBytes(of: &pending) { buf in
                (buf.baseAddress! + at).copyMemory(from: from, byteCount: take)
            }
            pendingCount += take
            p += take
            n -= take
            guard pendingCount == 32 else { return }
            let (a, b, c, d) = pending
            v1 = Self.round(v1, UInt64(littleEndian: a))
            v2 = Self.round(v2, UInt64(littleEndian: b))
            v3 = Self.round(v3, UInt64(littleEndian: c))
            v4 = Self.round(v4, UInt64(littleEndian: d))
            pendingCount = 0
        }
        var a = v1, b = v2, c = v3, d = v4
        while n >= 32 {
            a = Self.round(a, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            p += 32
            n -= 32
        }
        v1 = a; v2 = b; v3 = c; v4 = d
        if n > 0 {
            let from = p, left = n
            withUnsafeMutableBytes(of: &pending) { buf in buf.baseAddress!.copyMemory(from: from, byteCount: left) }
            pendingCount = n
        }
    }

    /// The hash of everything fed so far (the state is left unchanged).
    public func digest() -> UInt64 {
        var h: UInt64
        if total >= 32 {
            h = Self.rotl(v1, 1) &+ Self.rotl(v2, 7) &+ Self.rotl(v3, 12) &+ Self.rotl(v4, 18)
            h = Self.merge(h, v1)
            h = Self.merge(h, v2)
            h = Self.merge(h, v3)
            h = Self.merge(h, v4)
        } else {
            h = seed &+ Self.p5
        }
        h &+= total
        var tail = pending
        let count = pendingCount
        withUnsafeBytes(of: &tail) { raw in
            var i = 0
            while i + 8 <= count {
                h ^= Self.round(0, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                h = Self.rotl(h, 27) &* Self.p1 &+ Self.p4
                i += 8
            }
            if i + 4 <= count {
                h ^= UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* Self.p1
                h = Self.rotl(h, 23) &* Self.p2 &+ Self.p3
                i += 4
            }
            while i < count {
                h ^= UInt64(raw[i]) &* Self.p5
                h = Self.rotl(h, 11) &* Self.p1
                i += 1
            }
        }
        h ^= h >> 33
        h &*= Self.p2
        h ^= h >> 29
        h &*= Self.p3
        h ^= h >> 32
        return h
    }
}
