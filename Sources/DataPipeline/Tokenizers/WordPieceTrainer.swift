/// Learns a WordPiece vocabulary as Hugging Face's `WordPieceTrainer` does: BPE over words with
/// `##` continuation pieces, scored by frequency.
///
/// The steps of the Rust `BpeTrainer` it wraps: the special tokens take the first ids; then the
/// alphabet (every character of the counted words, by code point); then, for each character
/// that is not first in a word, its `##` form; then merges. Each merge takes the adjacent pair
/// with the highest count over all words (weighted by word frequency), ties going to the lower
/// (left id, right id); the new token is left + right without right's `##`, reusing an existing
/// id for the same text. Training stops at `vocabularySize` tokens or when no pair occurs
/// `minFrequency` times.
///
/// One difference is inherent: the Rust trainer numbers the `##` characters in the iteration
/// order of a randomly seeded hash map, so its ids (and, through tie-breaking, some merges)
/// change from run to run. Here they are numbered by code point, unless `continuationOrder`
/// gives an order (the tests pass one run's order and get that run's vocabulary exactly).
public struct WordPieceTrainer {
    /// BERT's special tokens in the order HF's BERT vocabularies have them.
    public static let bertSpecials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// Total tokens wanted, specials included.
    public var vocabularySize: Int
    /// A pair must occur at least this often to be merged.
    public var minFrequency: Int64
    /// Special tokens, first ids.
    public var specialTokens: [String]
    /// The prefix of pieces that continue a word.
    public var continuingSubwordPrefix = "##"
    /// Ids for the `##` characters in this order (others after, by code point); nil: by code point.
    public var continuationOrder: [String]? = nil

    /// A trainer for `vocabularySize` tokens.
    public init(vocabularySize: Int, minFrequency: Int64 = 0, specialTokens: [String] = WordPieceTrainer.bertSpecials) {
        self.vocabularySize = vocabularySize
        self.minFrequency = minFrequency
        self.specialTokens = specialTokens
    }

    /// Counts the words of `texts` as BERT's uncased normalizer and pre-tokenizer split them.
    public static func countWords<S: Sequence>(_ texts: S) -> [String: Int64] where S.Element == String {
        var counts: [String: Int64] = [:]
        for text in texts { addWords(of: text, to: &counts) }
        return counts
    }

    /// Adds the words of one text to `counts`.
    public static func addWords(of text: String, to counts: inout [String: Int64]) {
        let normalized = bertNormalizer.apply(text)
        for word in PreTokenizerStep.bert.split(Array(normalized.unicodeScalars), atStart: true) {
            counts[String(String.UnicodeScalarView(word)), default: 0] += 1
        }
    }

    static let bertNormalizer = TextNormalizer.bert(cleanText: true, chineseChars: true, stripAccents: true, lowercase: true)

    /// The vocabulary, token text by id.
    public func train(wordCounts: [String: Int64], progress: ((Int) -> Void)? = nil) -> [String] {
        var vocabulary: [String] = []
        var ids: [String: Int32] = [:]
        func add(_ token: String) -> Int32 {
            if let id = ids[token] { return id }
            vocabulary.append(token)
            ids[token] = Int32(vocabulary.count - 1)
            return Int32(vocabulary.count - 1)
        }
        for special in specialTokens { _ = add(special) }
        // Words in a fixed order (the result does not depend on it, only on the ids).
        let words = wordCounts.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        var alphabet = Set<Unicode.Scalar>()
        var continuing = Set<Unicode.Scalar>()
        for word in words {
            for (index, scalar) in word.unicodeScalars.enumerated() {
                alphabet.insert(scalar)
                if index > 0 { continuing.insert(scalar) }
            }
        }
        for scalar in alphabet.sorted(by: { $0.value < $1.value }) { _ = add(String(scalar)) }
        let prefix = continuingSubwordPrefix
        for token in continuationOrder ?? [] where token.hasPrefix(prefix) {
            if let scalar = token.dropFirst(prefix.count).unicodeScalars.first, continuing.contains(scalar) { _ = add(token) }
        }
        for scalar in continuing.sorted(by: { $0.value < $1.value }) { _ = add(prefix + String(scalar)) }

        var symbols: [[Int32]] = words.map { word in
            word.unicodeScalars.enumerated().map { index, scalar in ids[(index > 0 ? prefix : "") + String(scalar)]! }
        }
        let counts = words.map { wordCounts[$0]! }
        var pairCounts: [UInt64: Int64] = [:]
        var wordsWith: [UInt64: Set<Int>] = [:]
        func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        for (w, word) in symbols.enumerated() where word.count > 1 {
            for i in 0..<(word.count - 1) {
                let k = key(word[i], word[i + 1])
                pairCounts[k, default: 0] += counts[w]
                wordsWith[k, default: []].insert(w)
            }
        }
        var heap = PairHeap()
        for (k, count) in pairCounts where count > 0 { heap.push(count: count, key: k, order: k) }
        var merges = 0
        while vocabulary.count < vocabularySize, let top = heap.pop() {
            let current = pairCounts[top.key] ?? 0
            if top.count != current {
                heap.push(count: current, key: top.key, order: top.key)
                continue
            }
            if top.count < 1 || minFrequency > top.count { break }
            let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key & 0xFFFF_FFFF)
            var right = vocabulary[Int(b)]
            if right.hasPrefix(prefix) { right = String(right.unicodeScalars.dropFirst(prefix.unicodeScalars.count)) }
            let merged = add(vocabulary[Int(a)] + right)
            var touched: [UInt64: Set<Int>] = [:]
            for w in (wordsWith[top.key] ?? []).sorted() {
                var word = symbols[w]
                var i = 0
                while i < word.count {
                    if word[i] == a, i + 1 < word.count, word[i + 1] == b {
                        if i > 0 {
                            pairCounts[key(word[i - 1], a), default: 0] -= counts[w]
                            pairCounts[key(word[i - 1], merged), default: 0] += counts[w]
                            touched[key(word[i - 1], merged), default: []].insert(w)
                        }
                        word.replaceSubrange(i...(i + 1), with: [merged])
                        if i < word.count - 1 {
                            pairCounts[key(b, word[i + 1]), default: 0] -= counts[w]
                            pairCounts[key(merged, word[i + 1]), default: 0] += counts[w]
                            touched[key(merged, word[i + 1]), default: []].insert(w)
                        }
                    }
                    i += 1
                }
                symbols[w] = word
            }
            for (k, positions) in touched {
                wordsWith[k, default: []].formUnion(positions)
                if let count = pairCounts[k], count > 0 { heap.push(count: count, key: k, order: k) }
            }
            merges += 1
            if merges % 256 == 0 { progress?(merges) }
        }
        progress?(merges)
        return vocabulary
    }
}
