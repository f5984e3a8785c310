/// A token matched literally in text before pre-tokenization, such as `<|endoftext|>`.
///
/// Mirrors an entry of `added_tokens` in a Hugging Face `tokenizer.json`. `lstrip`/`rstrip` make
/// the match swallow whitespace on that side, as in the Python library. `normalized` tokens are
/// matched in the normalized text by `HuggingFaceTokenizer` (the byte-level `Tokenizer` has no
/// normalizer); `singleWord` is kept for the file but does not change matching.
public struct AddedToken: Equatable, Sendable {
    /// GPT-2's document separator, the token `pretrain data prepare` puts before every document.
    public static let endOfText = "<|endoftext|>"
    /// Padding, for the masked-LM objective.
    public static let pad = "[PAD]"
    /// The mask token, for the masked-LM objective.
    public static let mask = "[MASK]"
    /// Classification token, for the masked-LM objective.
    public static let cls = "[CLS]"
    /// Separator token, for the masked-LM objective.
    public static let sep = "[SEP]"
    /// The special tokens a trained tokenizer gets, in id order after the merges.
    public static let defaultSpecials = [endOfText, pad, mask, cls, sep]

    /// The token id.
    public var id: Int32
    /// The literal text that is matched.
    public var content: String
    /// Whether this is a special (control) token rather than an added word.
    public var special: Bool
    /// Whether a match also takes the whitespace before it.
    public var lstrip: Bool
    /// Whether a match also takes the whitespace after it.
    public var rstrip: Bool
    /// Stored for round-tripping `tokenizer.json`; matching ignores it.
    public var singleWord: Bool
    /// Whether the token is matched in normalized text (`HuggingFaceTokenizer` with a normalizer).
    public var normalized: Bool

    /// A special token with the Python library's defaults (no stripping, not normalized).
    public init(id: Int32, content: String, special: Bool = true, lstrip: Bool = false,
                rstrip: Bool = false, singleWord: Bool = false, normalized: Bool = false)
    {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        self.normalized = normalized
    }
}

extension AddedToken {
    /// The start of a `tokenizer.json` as the Python library writes it, through the `added_tokens`
    /// array of `tokens` (one object per line, in the given order) and its closing `],`.
    static func tokenizerJSONHeader(_ tokens: [AddedToken]) -> String {
        let entries = tokens.map {
            "{\"id\": \($0.id), \"content\": \(JSONText.quote($0.content)), \"single_word\": \($0.singleWord), \"lstrip\": \($0.lstrip), "
                + "\"rstrip\": \($0.rstrip), \"normalized\": \($0.normalized), \"special\": \($0.special)}"
        }
        return "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
            + JSONText.lines(entries, indent: 4) + (tokens.isEmpty ? "],\n" : "\n  ],\n")
    }
}
