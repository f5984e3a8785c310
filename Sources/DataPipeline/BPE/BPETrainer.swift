/// Learns byte-level BPE merges from pre-token counts, to a requested vocabulary size.
///
/// The rule, which the slow reference in the tests restates: repeatedly take the adjacent pair
/// with the highest count over all words (weighted by word frequency), give the concatenation a
/// new id (or the existing id when the same bytes were already made by an earlier merge), and
/// merge every occurrence left to right. Stop when the vocabulary reaches its size or no pair
/// occurs `minFrequency` times. Ties go to the pair whose (left, right) tokens come first, with
/// single bytes ordered by their GPT-2 alphabet character and before every merged token, and
/// merged tokens in creation order: the order of the Python `tokenizers` library's `BpeTrainer`,
/// so the same corpus and size give the same merges in the same order as it does.
///
/// Ids: 0–255 are the bytes, then one per merge in order, then the special tokens.
/// Pair counts are kept incrementally: a merge touches only the words that contain its pair
/// (found through a pair → words index) and adjusts the counts of the neighbouring pairs, and a
/// max-heap with lazy re-validation picks the next pair, so training is about linear in the
/// number of distinct words rather than recounting everything per merge.
public struct BPETrainer {
    /// Total tokens wanted: 256 bytes + merges + special tokens.
    public var vocabularySize: Int
    /// Special tokens appended after the merges (the default has `<|endoftext|>` first).
    public var specialTokens: [String]
    /// A pair must occur at least this often to be merged.
    public var minFrequency: Int64
    /// Threads for counting pre-tokens.
    public var threads: Int

    /// A trainer; throws when the vocabulary cannot hold the 256 bytes and the special tokens.
    public init(vocabularySize: Int, specialTokens: [String] = AddedToken.defaultSpecials,
                minFrequency: Int64 = 2, threads: Int = 1) throws
    {
        let minimum = 256 + specialTokens.count
        guard vocabularySize >= minimum else {
            throw DataError.vocabularyTooSmall(requested: vocabularySize, minimum: minimum)
        }
        self.vocabularySize = vocabularySize
        self.specialTokens = specialTokens
        self.minFrequency = max(1, minFrequency)
        self.threads = max(1, threads)
    }

    /// Trains on whole documents (pre-tokenized and counted on `threads` threads).
    public func train(documents: [[UInt8]]) throws -> Tokenizer {
        let joined = Array(documents.joined())
        let counter = joined.withUnsafeBufferPointer { all -> WordCounter in
            var pieces: [UnsafeBufferPointer<UInt8>] = []
            var offset = 0
            for document in documents {
                pieces.append(UnsafeBufferPointer(rebasing: all[offset..<offset + document.count]))
                offset += document.count
            }
            return WordCounter.count(pieces: pieces, threads: threads)
        }
        return try train(counts: counter)
    }

    /// Trains on pre-token counts gathered with `WordCounter`; `progress` hears the merge count
    /// now and then.
    public func train(counts: WordCounter, progress: ((Int) -> Void)? = nil) throws -> Tokenizer {
        var state = MergeState(counts: counts)
        let targetMerges = vocabularySize - 256 - specialTokens.count
        while state.tokens.count < 256 + targetMerges, let pair = state.popBest(minimum: minFrequency) {
            state.apply(pair)
            if state.merges.count % 64 == 0 { progress?(state.tokens.count - 256) }
        }
        let added = specialTokens.enumerated().map { AddedToken(id: Int32(state.tokens.count + $0.offset), content: $0.element) }
        return try Tokenizer(tokens: state.tokens.map { Optional($0) }, merges: state.merges, addedTokens: added)
    }
}

/// The mutable state of one training run: words as symbol ids, pair counts, the pair heap.
struct MergeState {
    var tokens: [[UInt8]] = (0..<256).map { [UInt8($0)] }
    var tokenIds: [[UInt8]: Int32] = [:]
    var merges: [(left: Int32, right: Int32)] = []

    private var symbols: [Int32] = []  // all words, back to back
    private var wordStart: [Int] = []
    private var wordLength: [Int32] = []
    private var frequency: [Int64] = []
    private var stamp: [Int32] = []  // last merge that rewrote each word

    private var pairIndex: [UInt64: Int32] = [:]
    private var pairKeys: [UInt64] = []
    private var pairCounts: [Int64] = []
    private var pairWords: [[Int32]] = []
    private var heap = PairHeap()

    init(counts: WordCounter) {
        for (id, token) in tokens.enumerated() { tokenIds[token] = Int32(id) }
        counts.forEachWord { bytes, count in
            wordStart.append(symbols.count)
            wordLength.append(Int32(bytes.count))
            frequency.append(count)
            for byte in bytes { symbols.append(Int32(byte)) }
        }
        stamp = [Int32](repeating: -1, count: frequency.count)
        for word in 0..<frequency.count {
            let start = wordStart[word]
            let length = Int(wordLength[word])
            if length < 2 { continue }
            for i in start..<(start + length - 1) {
                add(PairTable.key(symbols[i], symbols[i + 1]), frequency[word], word: Int32(word))
            }
        }
        for (index, count) in pairCounts.enumerated() where count > 0 {
            heap.push(count: count, key: pairKeys[index], order: Self.tieOrder(pairKeys[index]))
        }
    }

    /// Adds `amount` to a pair's count; a rise also records the word that holds the pair.
    private mutating func add(_ key: UInt64, _ amount: Int64, word: Int32) {
        let index: Int
        if let found = pairIndex[key] {
            index = Int(found)
        } else {
            index = pairKeys.count
            pairIndex[key] = Int32(index)
            pairKeys.append(key)
            pairCounts.append(0)
            pairWords.append([])
        }
        pairCounts[index] += amount
        if amount > 0, pairWords[index].last != word { pairWords[index].append(word) }
    }

    /// Tie-break order of a pair: bytes by alphabet rank (0–255), merged tokens by id (≥ 256).
    static func tieOrder(_ key: UInt64) -> UInt64 {
        func rank(_ id: UInt64) -> UInt64 { id < 256 ? UInt64(ByteLevel.alphabetRank[Int(id)]) : id }
        return rank(key >> 32) << 32 | rank(key & 0xFFFF_FFFF)
    }

    /// The highest-count pair (first in tie order on ties) occurring at least `minimum` times, or nil.
    mutating func popBest(minimum: Int64) -> UInt64? {
        while let top = heap.pop() {
            guard let index = pairIndex[top.key] else { continue }
            let current = pairCounts[Int(index)]
            if current != top.count {
                // A stale entry: re-queue a fallen count; a risen one was queued when it rose.
                if current > 0 && current < top.count { heap.push(count: current, key: top.key, order: Self.tieOrder(top.key)) }
                continue
            }
            return current >= minimum ? top.key : nil
        }
        return nil
    }

    /// Records the merge of `key`'s pair and rewrites every word that contains it.
    mutating func apply(_ key: UInt64) {
        let left = Int32(truncatingIfNeeded: key >> 32)
        let right = Int32(truncatingIfNeeded: key & 0xFFFF_FFFF)
        let bytes = tokens[Int(left)] + tokens[Int(right)]
        let merged: Int32
        if let existing = tokenIds[bytes] {
            merged = existing
        } else {
            merged = Int32(tokens.count)
            tokens.append(bytes)
            tokenIds[bytes] = merged
        }
        let mergeNumber = Int32(merges.count)
        merges.append((left, right))
        var risen: [UInt64] = []
        let words = pairWords[Int(pairIndex[key]!)]
        for word in words where stamp[Int(word)] != mergeNumber {
            stamp[Int(word)] = mergeNumber
            rewrite(word: Int(word), left: left, right: right, merged: merged, risen: &risen)
        }
        for pair in risen {
            let count = pairCounts[Int(pairIndex[pair]!)]
            if count > 0 { heap.push(count: count, key: pair, order: Self.tieOrder(pair)) }
        }
    }

    /// Merges `left right` in one word, left to right, adjusting the counts of the pairs around
    /// each occurrence by the word's frequency.
    private mutating func rewrite(word: Int, left: Int32, right: Int32, merged: Int32, risen: inout [UInt64]) {
        let start = wordStart[word]
        let length = Int(wordLength[word])
        let weight = frequency[word]
        let w32 = Int32(word)
        var read = 0
        var write = 0
        while read < length {
            let symbol = symbols[start + read]
            if read + 1 < length, symbol == left, symbols[start + read + 1] == right {
                if write > 0 {
                    let previous = symbols[start + write - 1]
                    add(PairTable.key(previous, left), -weight, word: w32)
                    add(PairTable.key(previous, merged), weight, word: w32)
                    risen.append(PairTable.key(previous, merged))
                }
                add(PairTable.key(left, right), -weight, word: w32)
                if read + 2 < length {
                    let next = symbols[start + read + 2]
                    add(PairTable.key(right, next), -weight, word: w32)
                    add(PairTable.key(merged, next), weight, word: w32)
                    risen.append(PairTable.key(merged, next))
                }
                symbols[start + write] = merged
                read += 2
            } else {
                symbols[start + write] = symbol
                read += 1
            }
            write += 1
        }
        wordLength[word] = Int32(write)
    }
}

/// A max-heap of pairs: highest count first, smallest tie order on equal counts.
struct PairHeap {
    private var counts: [Int64] = []
    private var orders: [UInt64] = []
    private var keys: [UInt64] = []

    @inline(__always) private func before(_ a: Int, _ b: Int) -> Bool {
        counts[a] != counts[b] ? counts[a] > counts[b] : orders[a] < orders[b]
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        counts.swapAt(a, b)
        orders.swapAt(a, b)
        keys.swapAt(a, b)
    }

    /// Queues a pair with its count and tie order.
    mutating func push(count: Int64, key: UInt64, order: UInt64) {
        counts.append(count)
        orders.append(order)
        keys.append(key)
        BinaryHeapSift.up(from: counts.count - 1, before: { before($0, $1) }, swap: { swap($0, $1) })
    }

    /// Removes and returns the first pair.
    mutating func pop() -> (count: Int64, key: UInt64)? {
        guard !counts.isEmpty else { return nil }
        let top = (counts[0], keys[0])
        let last = counts.count - 1
        swap(0, last)
        counts.removeLast()
        orders.removeLast()
        keys.removeLast()
        BinaryHeapSift.down(count: counts.count, before: { before($0, $1) }, swap: { swap($0, $1) })
        return top
    }
}
