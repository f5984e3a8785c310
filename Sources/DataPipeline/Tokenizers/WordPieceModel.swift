/// BERT's WordPiece model as Hugging Face `tokenizers` applies it to one pre-tokenized word.
///
/// Greedy longest-match-first: from the start of the word, take the longest vocabulary entry
/// (prefixed with `continuingSubwordPrefix`, `##`, after the first piece), then continue after
/// it. A word with a position where nothing matches, or longer than `maxInputCharsPerWord`
/// scalars, becomes the single unknown token. Lookups compare UTF-8 bytes (no canonical
/// equivalence), as the Rust library does.
struct WordPieceModel {
    /// Token text by id (empty for an unused id).
    let vocabulary: [String]
    /// UTF-8 bytes → id.
    let ids: [[UInt8]: Int32]
    /// The unknown token's id.
    let unknown: Int32
    /// The unknown token's text (`[UNK]`).
    let unknownToken: String
    /// Marks a piece that continues a word (`##`).
    let continuingSubwordPrefix: String
    /// Longer words become the unknown token.
    let maxInputCharsPerWord: Int
    private let prefixBytes: [UInt8]

    /// A model over `vocabulary`; throws when the unknown token is not in it.
    init(vocabulary: [String], unknownToken: String, continuingSubwordPrefix: String, maxInputCharsPerWord: Int, path: String) throws {
        self.vocabulary = vocabulary
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(vocabulary.count)
        for (id, token) in vocabulary.enumerated() where !token.isEmpty { ids[Array(token.utf8)] = ids[Array(token.utf8)] ?? Int32(id) }
        self.ids = ids
        guard let unknown = ids[Array(unknownToken.utf8)] else {
            throw DataError.malformedTokenizer(path: path, problem: "WordPiece unk_token \(unknownToken) is not in the vocabulary")
        }
        self.unknown = unknown
        self.unknownToken = unknownToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        prefixBytes = Array(continuingSubwordPrefix.utf8)
    }

    /// Appends the ids of one word.
    func tokenize(_ word: [Unicode.Scalar], into out: inout [Int32]) {
        if word.count > maxInputCharsPerWord {
            out.append(unknown)
            return
        }
        var utf8: [UInt8] = []
        var scalarStarts: [Int] = []  // byte offset of each scalar, plus the end
        for scalar in word {
            scalarStarts.append(utf8.count)
            utf8.append(contentsOf: Unicode.UTF8.encode(scalar)!)
        }
        scalarStarts.append(utf8.count)
        let mark = out.count
        var start = 0
        var key: [UInt8] = []
        while start < word.count {
            var end = word.count
            var found: Int32? = nil
            while start < end {
                key.removeAll(keepingCapacity: true)
                if start > 0 { key.append(contentsOf: prefixBytes) }
                key.append(contentsOf: utf8[scalarStarts[start]..<scalarStarts[end]])
                if let id = ids[key] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                out.removeSubrange(mark...)
                out.append(unknown)
                return
            }
            out.append(id)
            start = end
        }
    }
}
