import Support

/// Counts GPT-2 pre-tokens (byte strings) over a corpus: the first phase of BPE training.
///
/// One counter per thread, merged at the end (`count(pieces:threads:)` does both). Keys live in a
/// byte arena and slots in an open-addressing table, so counting allocates only as the table grows.
public final class WordCounter {
    /// One table entry: key hash, key bytes in the arena, count.
    struct Slot {
        var hash: UInt64 = 0
        var offset: Int = -1
        var length: Int32 = 0
        var count: Int64 = 0
    }

    var slots: [Slot]
    private var mask: Int
    /// Distinct pre-tokens seen.
    public private(set) var uniqueWords = 0
    /// Pre-tokens seen in all, with repeats.
    public private(set) var totalWords: Int64 = 0
    /// Bytes counted.
    public private(set) var totalBytes: Int64 = 0
    var arena: [UInt8] = []
    private let preTokenizer = GPT2PreTokenizer()

    /// An empty counter.
    public init() {
        slots = [Slot](repeating: Slot(), count: 1 << 12)
        mask = slots.count - 1
    }

    /// Counts the pre-tokens of `bytes` (added-token text is ordinary text here).
    public func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return }
        totalBytes += Int64(bytes.count)
        ScalarClass.bmp.withUnsafeBufferPointer { table in
            var i = 0
            let n = bytes.count
            while i < n {
                let e = preTokenizer.pieceEnd(p, i, n, table.baseAddress!)
                increment(p + i, e - i, by: 1)
                i = e
            }
        }
    }

    /// Adds every count of `other` into this counter.
    public func merge(_ other: WordCounter) {
        other.arena.withUnsafeBufferPointer { keys in
            for slot in other.slots where slot.offset >= 0 {
                increment(keys.baseAddress! + slot.offset, Int(slot.length), by: slot.count, hash: slot.hash)
            }
        }
        totalBytes += other.totalBytes
    }

    /// Calls `body(bytes, count)` for each distinct pre-token.
    public func forEachWord(_ body: (UnsafeBufferPointer<UInt8>, Int64) -> Void) {
        arena.withUnsafeBufferPointer { keys in
            for slot in slots where slot.offset >= 0 {
                body(UnsafeBufferPointer(rebasing: keys[slot.offset..<slot.offset + Int(slot.length)]), slot.count)
            }
        }
    }

    /// Counts `pieces` on `threads` threads (contiguous runs of pieces per thread) and merges.
    public static func count(pieces: [UnsafeBufferPointer<UInt8>], threads: Int) -> WordCounter {
        let workers = max(1, min(threads, pieces.count))
        let counters = (0..<workers).map { _ in WordCounter() }
        let bytes = pieces.map(\.count)
        let bounds = Parallel.balancedBounds(weights: bytes, parts: workers)
        Parallel.run(workers) { worker in
            for index in bounds[worker]..<bounds[worker + 1] { counters[worker].add(pieces[index]) }
        }
        let total = counters[0]
        for other in counters.dropFirst() { total.merge(other) }
        return total
    }

    private func increment(_ p: UnsafePointer<UInt8>, _ n: Int, by amount: Int64) {
        increment(p, n, by: amount, hash: WordCache.hash(p, n))
    }

    private func increment(_ p: UnsafePointer<UInt8>, _ n: Int, by amount: Int64, hash h: UInt64) {
        totalWords += amount
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i].offset >= 0 {
            if slots[i].hash == h, Int(slots[i].length) == n {
                let offset = slots[i].offset
                let same = arena.withUnsafeBufferPointer { memcmpBytes($0.baseAddress! + offset, p, n) }
                if same {
                    slots[i].count += amount
                    return
                }
            }
            i = (i + 1) & mask
        }
        slots[i] = Slot(hash: h, offset: arena.count, length: Int32(n), count: amount)
        arena.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
        uniqueWords += 1
        if uniqueWords * 2 > slots.count { grow() }
    }

    private func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.offset >= 0 {
            var i = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[i].offset >= 0 { i = (i + 1) & mask }
            slots[i] = slot
        }
    }
}
