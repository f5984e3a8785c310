/// The ids T5's span corruption needs from a tokenizer: padding (also the decoder's start token), end of
/// sequence, and the sentinels `<extra_id_0>`, `<extra_id_1>`, … that stand for the dropped spans.
///
/// Hugging Face's T5 tokenizer names them `<pad>`, `</s>` and `<extra_id_N>`; a tokenizer written by
/// `pretrain data prepare --extra-ids N` has `[PAD]`, `<|endoftext|>` and the same sentinels (placed
/// last, `<extra_id_0>` with the highest id, as T5's). Either spelling is accepted.
public struct T5SpecialTokens: Equatable, Sendable {
    /// Padding, and the decoder's start token.
    public var pad: Int32
    /// End of sequence, appended to inputs and targets.
    public var eos: Int32
    /// sentinels[k] is `<extra_id_k>`.
    public var sentinels: [Int32]

    public init(pad: Int32, eos: Int32, sentinels: [Int32]) {
        self.pad = pad
        self.eos = eos
        self.sentinels = sentinels
    }

    /// The sentinel names a tokenizer with `count` extra ids holds, `<extra_id_0>` first.
    public static func sentinelNames(_ count: Int) -> [String] { (0..<count).map { "<extra_id_\($0)>" } }

    /// Looks the tokens up among a tokenizer's added tokens; throws
    /// `DataError.missingT5Tokens` naming the file and what is missing.
    public init(tokenizer: Tokenizer) throws {
        let added = Dictionary(tokenizer.addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { a, _ in a })
        let pad = added["<pad>"] ?? added[AddedToken.pad], eos = added["</s>"] ?? added[AddedToken.endOfText]
        var sentinels: [Int32] = []
        while let id = added["<extra_id_\(sentinels.count)>"] { sentinels.append(id) }
        var missing: [String] = []
        if pad == nil { missing.append("<pad> or \(AddedToken.pad)") }
        if eos == nil { missing.append("</s> or \(AddedToken.endOfText)") }
        if sentinels.isEmpty { missing.append("<extra_id_0>…") }
        guard missing.isEmpty, let pad, let eos else { throw DataError.missingT5Tokens(path: tokenizer.sourcePath, missing: missing) }
        self.init(pad: pad, eos: eos, sentinels: sentinels)
    }
}
