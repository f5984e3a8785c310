/// A byte-level BPE tokenizer as in GPT-2: immutable, shareable across threads.
///
/// Ids index `tokens` (each a byte string); the 256 single-byte tokens start every word, and the
/// ranked merges join adjacent pairs, lowest rank first and leftmost on ties (the rule of the
/// Python `tokenizers` library). Added tokens such as `<|endoftext|>` are matched literally before
/// pre-tokenization. Encoding goes through a `TokenEncoder`, which owns a per-thread cache; the
/// `encode` conveniences here make a short-lived one.
///
/// Create one with `BPETrainer`, `Tokenizer.load(from:)` (a `tokenizer.json`, or GPT-2's
/// `vocab.json` + `merges.txt`) or `init(tokens:merges:addedTokens:)`.
public final class Tokenizer: @unchecked Sendable {
    /// One past the largest id: the embedding rows a model needs for this tokenizer.
    public let vocabularySize: Int
    /// The ranked merges as (left, right, result) ids; the index is the rank.
    public let merges: [(left: Int32, right: Int32, result: Int32)]
    /// Tokens matched literally before pre-tokenization, in file order.
    public let addedTokens: [AddedToken]
    /// Whether a space is put before each text segment that does not start with one (ByteLevel's
    /// `add_prefix_space`; false for GPT-2).
    public let addPrefixSpace: Bool
    /// Whether a pre-token that is itself in the vocabulary skips merging (BPE's `ignore_merges`).
    public let ignoreMerges: Bool
    /// Where this tokenizer came from, for error messages ("(trained)" when it was not loaded).
    public let sourcePath: String

    let tokenBytes: [UInt8]
    let tokenOffsets: [Int]  // vocabularySize + 1; an id with no token has an empty range
    let hasToken: [Bool]
    let byteIds: [Int32]  // id of each single-byte token, -1 when the vocabulary lacks it
    let pairs: PairTable
    let wholeWords: [[UInt8]: Int32]  // filled only when ignoreMerges
    let addedByFirstByte: [[Int]]  // indices into addedTokens (longest first), by first byte
    let startsAdded: [Bool]  // whether any added token starts with this byte
    let addedContent: [[UInt8]]

    /// Builds a tokenizer from its parts, checking them.
    ///
    /// - Parameters:
    ///   - tokens: the byte string of each id (nil for an unused id).
    ///   - merges: ranked (left, right) pairs; each result is the id whose bytes are left + right.
    ///   - addedTokens: literal tokens; an added token's id may lie past `tokens` or repeat a
    ///     token whose bytes are its content.
    ///   - sourcePath: named in error messages.
    public convenience init(tokens: [[UInt8]?], merges: [(left: Int32, right: Int32)], addedTokens: [AddedToken] = [],
                addPrefixSpace: Bool = false, ignoreMerges: Bool = false, sourcePath: String = "(trained)") throws
    {
        var table = tokens
        for added in addedTokens {
            guard added.id >= 0 else {
                throw DataError.malformedTokenizer(path: sourcePath, problem: "added token \(added.content) has negative id \(added.id)")
            }
            let index = Int(added.id)
            if index >= table.count { table += [[UInt8]?](repeating: nil, count: index + 1 - table.count) }
            let content = Array(added.content.utf8)
            if let existing = table[index], existing != content {
                throw DataError.malformedTokenizer(path: sourcePath, problem: "added token \(added.content) reuses id \(added.id) of another token")
            }
            table[index] = content
        }
        // Merge results resolve against the model vocabulary (lowest id for a repeated string).
        var lookup: [[UInt8]: Int32] = [:]
        lookup.reserveCapacity(tokens.count)
        for (id, bytes) in tokens.enumerated() {
            if let bytes, lookup[bytes] == nil { lookup[bytes] = Int32(id) }
        }
        var resolved: [(left: Int32, right: Int32, result: Int32)] = []
        resolved.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            guard merge.left >= 0, Int(merge.left) < table.count, let a = table[Int(merge.left)],
                  merge.right >= 0, Int(merge.right) < table.count, let b = table[Int(merge.right)]
            else {
                throw DataError.malformedTokenizer(path: sourcePath, problem: "merge \(rank) names an unknown id")
            }
            guard let result = lookup[a + b] else {
                throw DataError.malformedTokenizer(
                    path: sourcePath, problem: "merge \(rank) (\(ByteLevel.encode(a)) \(ByteLevel.encode(b))) makes a token missing from the vocabulary")
            }
            resolved.append((merge.left, merge.right, result))
        }
        try self.init(table: table, resolvedMerges: resolved, lookup: lookup, addedTokens: addedTokens,
                      addPrefixSpace: addPrefixSpace, ignoreMerges: ignoreMerges, sourcePath: sourcePath)
    }

    /// The designated initializer: `table` already includes the added tokens.
    init(table: [[UInt8]?], resolvedMerges: [(left: Int32, right: Int32, result: Int32)], lookup: [[UInt8]: Int32],
         addedTokens: [AddedToken], addPrefixSpace: Bool, ignoreMerges: Bool, sourcePath: String) throws
    {
        vocabularySize = table.count
        merges = resolvedMerges
        self.addedTokens = addedTokens
        self.addPrefixSpace = addPrefixSpace
        self.ignoreMerges = ignoreMerges
        self.sourcePath = sourcePath
        var bytes: [UInt8] = []
        var offsets = [0]
        var present: [Bool] = []
        offsets.reserveCapacity(table.count + 1)
        for token in table {
            bytes.append(contentsOf: token ?? [])
            offsets.append(bytes.count)
            present.append(token != nil)
        }
        tokenBytes = bytes
        tokenOffsets = offsets
        hasToken = present
        let isAdded = Set(addedTokens.map(\.id))
        var singles = [Int32](repeating: -1, count: 256)
        for (id, token) in table.enumerated() {
            if let token, token.count == 1, !isAdded.contains(Int32(id)), singles[Int(token[0])] < 0 {
                singles[Int(token[0])] = Int32(id)
            }
        }
        byteIds = singles
        var table2 = PairTable(capacityFor: resolvedMerges.count)
        for (rank, merge) in resolvedMerges.enumerated() {
            table2.insert(merge.left, merge.right, rank: Int32(rank), result: merge.result)
        }
        pairs = table2
        wholeWords = ignoreMerges ? lookup : [:]
        let contents = addedTokens.map { Array($0.content.utf8) }
        var byFirst = [[Int]](repeating: [], count: 256)
        for index in addedTokens.indices.sorted(by: { contents[$0].count > contents[$1].count }) where !contents[index].isEmpty {
            byFirst[Int(contents[index][0])].append(index)
        }
        addedByFirstByte = byFirst
        startsAdded = byFirst.map { !$0.isEmpty }
        addedContent = contents
    }

    /// The byte string of a token id (empty for an unused or out-of-range id).
    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        return Array(tokenBytes[tokenOffsets[Int(id)]..<tokenOffsets[Int(id) + 1]])
    }

    /// The id of an added token by its content, e.g. `id(ofAdded: AddedToken.endOfText)`.
    public func id(ofAdded content: String) -> Int32? {
        addedTokens.first { $0.content == content }?.id
    }

    /// The id of `<|endoftext|>`, the document separator, when the tokenizer has it.
    public var endOfText: Int32? { id(ofAdded: AddedToken.endOfText) }

    /// A fresh encoder with its own pre-token cache; use one per thread.
    public func makeEncoder() -> TokenEncoder { TokenEncoder(self) }

    /// Encodes text, matching added tokens, exactly as the Python library's `encode(text).ids`.
    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        let encoder = makeEncoder()
        let utf8 = Array(text.utf8)
        utf8.withUnsafeBufferPointer { encoder.encode($0, into: &out) }
        return out
    }

    /// Encodes raw bytes (any bytes, invalid UTF-8 included), matching added tokens.
    public func encode(bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        let encoder = makeEncoder()
        bytes.withUnsafeBufferPointer { encoder.encode($0, into: &out) }
        return out
    }

    /// Encodes raw bytes treating added-token text as ordinary text (no literal matches).
    public func encodeOrdinary(bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        let encoder = makeEncoder()
        bytes.withUnsafeBufferPointer { encoder.encodeOrdinary($0, into: &out) }
        return out
    }

    /// The bytes a sequence of ids stands for; ids outside the vocabulary contribute nothing.
    public func decode(_ ids: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        tokenBytes.withUnsafeBufferPointer { all in
            for id in ids where id >= 0 && Int(id) < vocabularySize {
                let range = tokenOffsets[Int(id)]..<tokenOffsets[Int(id) + 1]
                out.append(contentsOf: UnsafeBufferPointer(rebasing: all[range]))
            }
        }
        return out
    }

    /// The text a sequence of ids stands for; invalid UTF-8 becomes U+FFFD.
    public func decodeText(_ ids: [Int32]) -> String {
        String(decoding: decode(ids), as: UTF8.self)
    }

    /// Throws when the model's embedding table (`modelVocabularySize` rows) cannot hold every id.
    public func checkFits(modelVocabularySize: Int) throws {
        if vocabularySize > modelVocabularySize {
            throw DataError.vocabularyTooLarge(path: sourcePath, tokenizerSize: vocabularySize, modelSize: modelVocabularySize)
        }
    }
}
