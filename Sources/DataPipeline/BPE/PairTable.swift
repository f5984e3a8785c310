/// An open-addressing hash map from a token pair to (rank, merged id): the merge lookup of BPE.
///
/// Keys pack `(left << 32) | right`; a multiplicative hash and linear probing keep a lookup to a
/// couple of cache lines, several times faster than `Dictionary` with its seeded SipHash.
struct PairTable {
    private var keys: [UInt64]
    private var values: [UInt64]  // (rank << 32) | result
    private let mask: Int
    private static let empty = UInt64.max

    /// A table sized for `count` pairs.
    init(capacityFor count: Int) {
        var size = 16
        while size < count * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: left)) << 32) | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// Records that `left right` merges into `result` with priority `rank`; a pair listed twice
    /// takes its later entry, as the Python library's merge map does.
    mutating func insert(_ left: Int32, _ right: Int32, rank: Int32, result: Int32) {
        let k = Self.key(left, right)
        var i = slot(k)
        while keys[i] != Self.empty {
            if keys[i] == k { break }
            i = (i + 1) & mask
        }
        keys[i] = k
        values[i] = (UInt64(UInt32(bitPattern: rank)) << 32) | UInt64(UInt32(bitPattern: result))
    }

    /// The packed `(rank << 32) | result` for a pair, or `UInt64.max` when the pair never merges.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64 {
        let k = Self.key(left, right)
        return keys.withUnsafeBufferPointer { kp in
            var i = slot(k)
            while true {
                let found = kp[i]
                if found == k { return values.withUnsafeBufferPointer { $0[i] } }
                if found == Self.empty { return UInt64.max }
                i = (i + 1) & mask
            }
        }
    }
}
