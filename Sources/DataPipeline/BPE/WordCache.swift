/// A byte-string → token-ids cache for pre-tokens, with no allocation per lookup.
///
/// Keys and values live in two growing arenas; slots hold the hash and arena offsets. When the
/// cache reaches `maxEntries` it is cleared and refilled, which keeps memory bounded on huge
/// corpora while the frequent words stay hot.
struct WordCache {
    private struct Slot {
        var hash: UInt64 = 0
        var keyOffset: Int32 = -1
        var keyLength: Int32 = 0
        var valueOffset: Int32 = 0
        var valueLength: Int32 = 0
    }

    /// Longest pre-token (in bytes) that is cached; longer ones are rare and encoded each time.
    static let maxKeyLength = 128

    private var slots: [Slot]
    private var mask: Int
    private var count = 0
    private let maxEntries: Int
    private var keyArena: [UInt8] = []
    private var valueArena: [Int32] = []

    /// A cache that holds up to `maxEntries` pre-tokens.
    init(maxEntries: Int = 1 << 18) {
        self.maxEntries = maxEntries
        slots = [Slot](repeating: Slot(), count: 1 << 12)
        mask = slots.count - 1
    }

    /// A fast hash of `p[0..<n]` (n ≤ maxKeyLength): 8 bytes at a time, multiply–xor mixing.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ UInt64(n)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// Appends the cached ids for `p[0..<n]` to `out` and returns true, or returns false on a miss.
    @inline(__always)
    func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, into out: inout [Int32]) -> Bool {
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[i]
            if slot.keyOffset < 0 { return false }
            if slot.hash == h, Int(slot.keyLength) == n {
                let same = keyArena.withUnsafeBufferPointer { arena in
                    memcmpBytes(arena.baseAddress! + Int(slot.keyOffset), p, n)
                }
                if same {
                    let start = Int(slot.valueOffset)
                    let length = Int(slot.valueLength)
                    if length == 1 {
                        out.append(valueArena[start])
                    } else {
                        valueArena.withUnsafeBufferPointer { values in
                            out.append(contentsOf: UnsafeBufferPointer(rebasing: values[start..<start + length]))
                        }
                    }
                    return true
                }
            }
            i = (i + 1) & mask
        }
    }

    /// Stores the ids for `p[0..<n]` (the caller has just missed on the same key and hash).
    mutating func insert(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, ids: UnsafeBufferPointer<Int32>) {
        if count >= maxEntries || keyArena.count + n > Int(Int32.max) || valueArena.count + ids.count > Int(Int32.max) {
            clear()
        }
        if (count + 1) * 2 > slots.count { grow() }
        var slot = Slot()
        slot.hash = h
        slot.keyOffset = Int32(keyArena.count)
        slot.keyLength = Int32(n)
        slot.valueOffset = Int32(valueArena.count)
        slot.valueLength = Int32(ids.count)
        keyArena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        valueArena.append(contentsOf: ids)
        place(slot)
        count += 1
    }

    private mutating func place(_ slot: Slot) {
        var i = Int(truncatingIfNeeded: slot.hash) & mask
        while slots[i].keyOffset >= 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.keyOffset >= 0 { place(slot) }
    }

    /// Drops every entry but keeps the slot array's size.
    mutating func clear() {
        for i in slots.indices { slots[i] = Slot() }
        count = 0
        keyArena.removeAll(keepingCapacity: true)
        valueArena.removeAll(keepingCapacity: true)
    }
}

/// Whether `a[0..<n]` equals `b[0..<n]`.
@inline(__always)
func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 8 <= n {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i += 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i += 1
    }
    return true
}
