/// Encodes corpus text with a `HuggingFaceTokenizer`, caching each word's ids; one per thread.
///
/// Gives exactly `tokenizer.encodeOrdinary(text)`: added-token text is ordinary text and no
/// special tokens are added. The cache holds up to a million words and is then cleared.
public final class HuggingFaceEncoder {
    /// The tokenizer applied.
    public let tokenizer: HuggingFaceTokenizer
    var words: [[Unicode.Scalar]: [Int32]] = [:]

    /// An encoder with an empty cache.
    public init(_ tokenizer: HuggingFaceTokenizer) {
        self.tokenizer = tokenizer
    }

    /// Appends the ids of `bytes` (UTF-8; invalid sequences become U+FFFD) to `out`.
    public func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if case .bpe = tokenizer.model {
            out += tokenizer.encodeOrdinary(text)
            return
        }
        guard !text.isEmpty else { return }
        tokenizer.encodeSegment(text, atStart: true, into: &out, cache: self)
    }
}
