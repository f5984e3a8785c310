/// Encodes bytes to token ids with one tokenizer, caching each pre-token's ids; one per thread.
///
/// The pipeline per call: split out added tokens (leftmost-longest literal matches), split the
/// rest with `GPT2PreTokenizer`, then for each pre-token either hit the cache or run BPE. BPE
/// merges the lowest-ranked adjacent pair, leftmost first, until none is left: an array scan for
/// pre-tokens up to 256 symbols, a heap over a linked list for longer ones (no quadratic blow-up
/// on a megabyte of `=`).
public final class TokenEncoder {
    /// The tokenizer this encoder applies.
    public let tokenizer: Tokenizer
    private var cache = WordCache()
    private var capacity = 0
    private var symbols: UnsafeMutablePointer<Int32>
    private var ranks: UnsafeMutablePointer<UInt64>
    private var prefixed: [UInt8] = []
    private let preTokenizer = GPT2PreTokenizer()

    /// An encoder for `tokenizer` with an empty cache.
    public init(_ tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        capacity = 256
        symbols = .allocate(capacity: capacity)
        ranks = .allocate(capacity: capacity)
    }

    deinit {
        symbols.deallocate()
        ranks.deallocate()
    }

    /// Encodes text (matching added tokens) and returns the ids.
    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        Array(text.utf8).withUnsafeBufferPointer { encode($0, into: &out) }
        return out
    }

    /// Appends the ids of `bytes` to `out`, matching added tokens such as `<|endoftext|>` first.
    public func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return }
        let n = bytes.count
        if tokenizer.addedTokens.isEmpty {
            encodeOrdinary(bytes, into: &out)
            return
        }
        var segmentStart = 0
        var i = 0
        let startsAdded = tokenizer.startsAdded
        while i < n {
            if !startsAdded[Int(p[i])] {
                i += 1
                continue
            }
            let candidates = tokenizer.addedByFirstByte[Int(p[i])]
            var matched = -1
            for index in candidates {
                let content = tokenizer.addedContent[index]
                if i + content.count <= n, content.withUnsafeBufferPointer({ memcmpBytes($0.baseAddress!, p + i, content.count) }) {
                    matched = index
                    break
                }
            }
            if matched < 0 {
                i += 1
                continue
            }
            let token = tokenizer.addedTokens[matched]
            var start = i
            var end = i + tokenizer.addedContent[matched].count
            if token.lstrip {
                while start > segmentStart, let previous = Self.whitespaceBefore(p, start, floor: segmentStart) { start = previous }
            }
            if token.rstrip {
                while end < n, let next = Self.whitespaceAfter(p, end, n) { end = next }
            }
            encodeOrdinary(UnsafeBufferPointer(start: p + segmentStart, count: start - segmentStart), into: &out)
            out.append(token.id)
            segmentStart = end
            i = end
        }
        encodeOrdinary(UnsafeBufferPointer(start: p + segmentStart, count: n - segmentStart), into: &out)
    }

    /// Appends the ids of `bytes` to `out`, treating added-token text as ordinary text.
    public func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if tokenizer.addPrefixSpace, base[0] != 0x20 {
            prefixed.removeAll(keepingCapacity: true)
            prefixed.append(0x20)
            prefixed.append(contentsOf: bytes)
            let copy = prefixed
            copy.withUnsafeBufferPointer { encodePieces($0.baseAddress!, $0.count, into: &out) }
        } else {
            encodePieces(base, bytes.count, into: &out)
        }
    }

    private func encodePieces(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [Int32]) {
        ScalarClass.bmp.withUnsafeBufferPointer { table in
            let classes = table.baseAddress!
            var i = 0
            while i < n {
                let e = preTokenizer.pieceEnd(p, i, n, classes)
                encodePiece(p + i, e - i, into: &out)
                i = e
            }
        }
    }

    @inline(__always)
    private func encodePiece(_ p: UnsafePointer<UInt8>, _ n: Int, into out: inout [Int32]) {
        if n == 1 {
            let id = tokenizer.byteIds[Int(p[0])]
            if id >= 0 { out.append(id) }
            return
        }
        if n <= WordCache.maxKeyLength {
            let h = WordCache.hash(p, n)
            if cache.lookup(p, n, hash: h, into: &out) { return }
            let m = mergePiece(p, n)
            out.append(contentsOf: UnsafeBufferPointer(start: symbols, count: m))
            cache.insert(p, n, hash: h, ids: UnsafeBufferPointer(start: symbols, count: m))
        } else {
            let m = mergePiece(p, n)
            out.append(contentsOf: UnsafeBufferPointer(start: symbols, count: m))
        }
    }

    /// Runs BPE on one pre-token; the result is `symbols[0..<returned count]`.
    private func mergePiece(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        if n > capacity {
            symbols.deallocate()
            ranks.deallocate()
            capacity = max(n, capacity * 2)
            symbols = .allocate(capacity: capacity)
            ranks = .allocate(capacity: capacity)
        }
        if tokenizer.ignoreMerges, let id = tokenizer.wholeWords[Array(UnsafeBufferPointer(start: p, count: n))] {
            symbols[0] = id
            return 1
        }
        var m = 0
        for k in 0..<n {
            let id = tokenizer.byteIds[Int(p[k])]
            if id >= 0 {
                symbols[m] = id
                m += 1
            }
        }
        if m < 2 { return m }
        return m <= 256 ? mergeByScan(m) : mergeByHeap(m)
    }

    /// BPE for short pre-tokens: rank of each adjacent pair kept in an array, min found by scan.
    private func mergeByScan(_ count: Int) -> Int {
        let pairs = tokenizer.pairs
        let s = symbols, r = ranks
        var m = count
        for i in 0..<(m - 1) { r[i] = pairs.lookup(s[i], s[i + 1]) }
        while m > 1 {
            var best = UInt64.max
            var at = -1
            for i in 0..<(m - 1) where r[i] < best {
                best = r[i]
                at = i
            }
            if at < 0 { break }
            s[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            // Drop symbol at+1 and pair at+1; later pairs shift down by one.
            var j = at + 1
            while j < m - 1 {
                s[j] = s[j + 1]
                j += 1
            }
            j = at + 1
            while j < m - 2 {
                r[j] = r[j + 1]
                j += 1
            }
            m -= 1
            if at < m - 1 { r[at] = pairs.lookup(s[at], s[at + 1]) }
            if at > 0 { r[at - 1] = pairs.lookup(s[at - 1], s[at]) }
        }
        return m
    }

    /// BPE for long pre-tokens: a min-heap of (rank, position) over a doubly linked symbol list,
    /// stale entries skipped when popped. Same merge order as `mergeByScan`.
    private func mergeByHeap(_ count: Int) -> Int {
        let pairs = tokenizer.pairs
        let s = symbols
        var next = [Int32](repeating: -1, count: count)
        var previous = [Int32](repeating: -1, count: count)
        for i in 0..<count {
            next[i] = i + 1 < count ? Int32(i + 1) : -1
            previous[i] = Int32(i - 1)
        }
        var heap = MinHeap()
        for i in 0..<(count - 1) {
            let packed = pairs.lookup(s[i], s[i + 1])
            if packed != .max { heap.push((packed >> 32) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let rank = top >> 32
            if s[position] < 0 { continue }
            let right = Int(next[position])
            if right < 0 { continue }
            let packed = pairs.lookup(s[position], s[right])
            if packed == .max || packed >> 32 != rank { continue }
            s[position] = Int32(truncatingIfNeeded: packed & 0xFFFF_FFFF)
            s[right] = -1
            let after = next[right]
            next[position] = after
            if after >= 0 { previous[Int(after)] = Int32(position) }
            let before = Int(previous[position])
            if before >= 0 {
                let left = pairs.lookup(s[before], s[position])
                if left != .max { heap.push((left >> 32) << 32 | UInt64(before)) }
            }
            if after >= 0 {
                let following = pairs.lookup(s[position], s[Int(after)])
                if following != .max { heap.push((following >> 32) << 32 | UInt64(position)) }
            }
        }
        var m = 0
        var i = 0
        while i >= 0 {
            s[m] = s[i]
            m += 1
            i = Int(next[i])
        }
        return m
    }

    /// Start of the whitespace scalar just before `i` (not before `floor`), or nil.
    private static func whitespaceBefore(_ p: UnsafePointer<UInt8>, _ i: Int, floor: Int) -> Int? {
        var start = i - 1
        while start > floor, i - start < 4, p[start] & 0xC0 == 0x80 { start -= 1 }
        let decoded = ScalarClass.bmp.withUnsafeBufferPointer { ScalarClass.decode(p, start, i, $0.baseAddress!) }
        return decoded.cls == ScalarClass.space.rawValue && start + decoded.length == i ? start : nil
    }

    /// End of the whitespace scalar starting at `i`, or nil.
    private static func whitespaceAfter(_ p: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        let decoded = ScalarClass.bmp.withUnsafeBufferPointer { ScalarClass.decode(p, i, n, $0.baseAddress!) }
        return decoded.cls == ScalarClass.space.rawValue ? i + decoded.length : nil
    }
}

/// A binary min-heap of packed UInt64 keys.
struct MinHeap {
    private(set) var items: [UInt64] = []

    /// Adds a key.
    mutating func push(_ value: UInt64) {
        items.append(value)
        BinaryHeapSift.up(from: items.count - 1, before: { items[$0] < items[$1] }, swap: { items.swapAt($0, $1) })
    }

    /// Removes and returns the smallest key.
    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        BinaryHeapSift.down(count: items.count, before: { items[$0] < items[$1] }, swap: { items.swapAt($0, $1) })
        return first
    }
}
