/// The ids of BERT's special tokens in a tokenizer: [CLS], [SEP], [MASK], [PAD], and every other
/// special token (such as `<|endoftext|>`), which masking also leaves alone.
public struct BERTSpecialTokens: Equatable, Sendable {
    /// Classification token, first of every sequence.
    public var cls: Int32
    /// Separator after each segment.
    public var sep: Int32
    /// The replacement of 80 % of the chosen tokens.
    public var mask: Int32
    /// Padding after the last segment.
    public var pad: Int32
    /// Further special tokens that are never masked nor drawn as random replacements.
    public var others: [Int32]

    public init(cls: Int32, sep: Int32, mask: Int32, pad: Int32, others: [Int32] = []) {
        self.cls = cls
        self.sep = sep
        self.mask = mask
        self.pad = pad
        self.others = others
    }

    /// Looks the four tokens up among the tokenizer's added tokens; throws
    /// `DataError.missingSpecialTokens` naming the tokenizer file and every missing one.
    public init(tokenizer: Tokenizer) throws {
        try self.init(addedTokens: tokenizer.addedTokens, path: tokenizer.sourcePath)
    }

    /// The same lookup in a Hugging Face tokenizer (WordPiece, Unigram or BPE `tokenizer.json`).
    public init(tokenizer: HuggingFaceTokenizer) throws {
        try self.init(addedTokens: tokenizer.addedTokens, path: tokenizer.sourcePath)
    }

    private init(addedTokens: [AddedToken], path: String) throws {
        let names = [AddedToken.cls, AddedToken.sep, AddedToken.mask, AddedToken.pad]
        let ids = names.map { name in addedTokens.first { $0.content == name }?.id }
        let missing = zip(names, ids).filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty else { throw DataError.missingSpecialTokens(path: path, missing: missing) }
        self.init(cls: ids[0]!, sep: ids[1]!, mask: ids[2]!, pad: ids[3]!)
        let four = Set(ids.compactMap { $0 })
        others = addedTokens.filter { $0.special && !four.contains($0.id) }.map(\.id)
    }

    /// Every special id: the four and `others`.
    public var all: [Int32] { [cls, sep, mask, pad] + others }
}
