/// A tokenizer as Hugging Face `tokenizers` defines it in `tokenizer.json`: WordPiece (BERT),
/// Unigram (SentencePiece, as T5 uses it) or byte-level BPE, with its normalizer, pre-tokenizer,
/// post-processor and decoder. Immutable; `encode` and `decode` are safe from any thread.
///
/// The pipeline, as the Python library's: split out added tokens (leftmost-longest literal
/// matches), normalize each remaining segment, pre-tokenize it into words, run the model on each
/// word, then (with special tokens) let the post-processor add `[CLS]`/`[SEP]`, `</s>` and the
/// like. BPE files go through `Tokenizer` unchanged (byte-level, no normalizer).
///
/// Load one with `HuggingFaceTokenizer.load(from:)`; train a WordPiece one with `WordPieceTrainer`.
public final class HuggingFaceTokenizer: @unchecked Sendable {
    /// The model inside.
    enum Model {
        case bpe(Tokenizer)
        case wordPiece(WordPieceModel)
        case unigram(UnigramModel)
    }

    /// The model type as `tokenizer.json` names it: `BPE`, `WordPiece` or `Unigram`.
    public let modelType: String
    /// One past the largest id (added tokens included).
    public let vocabularySize: Int
    /// Tokens matched literally before normalization, in file order.
    public let addedTokens: [AddedToken]
    /// Where this tokenizer came from, for error messages.
    public let sourcePath: String

    let model: Model
    let normalizer: TextNormalizer?
    let preTokenizer: PreTokenizerStep?
    let postProcessor: PostProcessor
    let decoder: TokenDecoderStep?
    let limits: EncodingLimits
    let tokens: [String]  // text of every id ("" when unused)
    let idsByText: [String: Int32]
    let specialIds: Set<Int32>
    let addedByLength: [(bytes: [UInt8], token: AddedToken)]  // matched on raw text, longest first
    let normalizedAdded: [(bytes: [UInt8], token: AddedToken)]  // `normalized` ones, matched after normalizing

    init(modelType: String, model: Model, tokens: [String], addedTokens: [AddedToken], normalizer: TextNormalizer?,
         preTokenizer: PreTokenizerStep?, postProcessor: PostProcessor, decoder: TokenDecoderStep?, sourcePath: String,
         limits: EncodingLimits = EncodingLimits())
    {
        self.modelType = modelType
        self.model = model
        var table = tokens
        for added in addedTokens where added.id >= 0 {
            if Int(added.id) >= table.count { table += [String](repeating: "", count: Int(added.id) + 1 - table.count) }
            // A `normalized` token's text is its normalized content, as the Python library's id_to_token gives.
            table[Int(added.id)] = added.normalized ? (normalizer?.apply(added.content) ?? added.content) : added.content
        }
        self.tokens = table
        vocabularySize = table.count
        var byText: [String: Int32] = [:]
        for (id, token) in table.enumerated() where !token.isEmpty && byText[token] == nil { byText[token] = Int32(id) }
        for added in addedTokens where added.id >= 0 && byText[added.content] == nil { byText[added.content] = added.id }
        idsByText = byText
        self.addedTokens = addedTokens
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
        addedByLength = addedTokens.filter { !$0.content.isEmpty && !($0.normalized && normalizer != nil) }
            .map { (Array($0.content.utf8), $0) }.sorted { $0.bytes.count > $1.bytes.count }
        normalizedAdded = addedTokens.filter { !$0.content.isEmpty && $0.normalized && normalizer != nil }
            .map { (Array((normalizer?.apply($0.content) ?? $0.content).utf8), $0) }.filter { !$0.0.isEmpty }
            .sorted { $0.0.count > $1.0.count }
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.sourcePath = sourcePath
        self.limits = limits
    }

    /// The file's `truncation` max_length, which `encode` applies (nil: none).
    public var truncationLength: Int? { limits.truncation?.maxLength }
    /// The file's fixed `padding` length, which `encode` applies (nil: none or batch-longest).
    public var paddingLength: Int? { limits.padding?.fixed }

    /// The same tokenizer without the file's truncation and padding (`encode` then returns
    /// every id, unpadded).
    public func withoutTruncationAndPadding() -> HuggingFaceTokenizer {
        HuggingFaceTokenizer(modelType: modelType, model: model, tokens: tokens, addedTokens: addedTokens, normalizer: normalizer,
                             preTokenizer: preTokenizer, postProcessor: postProcessor, decoder: decoder, sourcePath: sourcePath)
    }

    /// The id of a token (model vocabulary or added token) by its text.
    public func id(of token: String) -> Int32? { idsByText[token] }

    /// The text of a token id (nil when unused or out of range).
    public func token(of id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count, !tokens[Int(id)].isEmpty else { return nil }
        return tokens[Int(id)]
    }

    /// Throws when the model's embedding table (`modelVocabularySize` rows) cannot hold every id.
    public func checkFits(modelVocabularySize: Int) throws {
        if vocabularySize > modelVocabularySize {
            throw DataError.vocabularyTooLarge(path: sourcePath, tokenizerSize: vocabularySize, modelSize: modelVocabularySize)
        }
    }

    /// Whether `id` is a special added token (skipped by `decode` by default).
    public func isSpecial(_ id: Int32) -> Bool { specialIds.contains(id) }

    /// The ids of `text`, as the Python library's `encode(text, add_special_tokens=…).ids`
    /// (with the file's truncation and padding, if any).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        encodeWithTypes(text, addSpecialTokens: addSpecialTokens).ids
    }

    /// The ids of a pair, as `encode(a, b, add_special_tokens=…).ids` (BERT: `[CLS] A [SEP] B [SEP]`).
    public func encode(_ text: String, pair: String, addSpecialTokens: Bool = true) -> [Int32] {
        encodeWithTypes(text, pair: pair, addSpecialTokens: addSpecialTokens).ids
    }

    /// Ids and type (segment) ids of a sequence or a pair, as the Python library's `type_ids`.
    public func encodeWithTypes(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> (ids: [Int32], typeIds: [Int32]) {
        var a = encodeSequence(text, matchAdded: true)
        var b = pair.map { encodeSequence($0, matchAdded: true) }
        limits.truncate(&a, &b, added: addSpecialTokens ? postProcessor.addedCount(pair: b != nil) : 0)
        var (ids, types) = postProcessor.process(a, b, addSpecialTokens: addSpecialTokens)
        limits.pad(&ids, &types)
        return (ids, types)
    }

    /// The ids of `text` with added-token text treated as ordinary text and no special tokens
    /// (how `pretrain data prepare` encodes corpus text).
    public func encodeOrdinary(_ text: String) -> [Int32] {
        encodeSequence(text, matchAdded: false)
    }

    /// The text of `ids`, as the Python library's `decode(ids, skip_special_tokens=…)`.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        if case let .bpe(bpe) = model {
            return bpe.decodeText(skipSpecialTokens ? ids.filter { !specialIds.contains($0) } : ids)
        }
        let pieces = ids.filter { !(skipSpecialTokens && specialIds.contains($0)) }.compactMap { token(of: $0) }
        guard let decoder else { return pieces.joined(separator: " ") }
        return decoder.apply(pieces).joined()
    }

    /// Added tokens split out, then each other segment normalized, pre-tokenized and modelled.
    func encodeSequence(_ text: String, matchAdded: Bool) -> [Int32] {
        if case let .bpe(bpe) = model {
            return matchAdded ? bpe.encode(text) : bpe.encodeOrdinary(bytes: Array(text.utf8))
        }
        var out: [Int32] = []
        let bytes = Array(text.utf8)
        Self.split(bytes, on: matchAdded ? addedByLength : []) { piece in
            switch piece {
            case let .token(id): out.append(id)
            case let .text(range):
                encodeSegment(String(decoding: bytes[range], as: UTF8.self), atStart: range.lowerBound == 0, into: &out,
                              matchNormalized: matchAdded)
            }
        }
        return out
    }

    /// A piece of text between added tokens, or an added token.
    enum AddedSplit {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Splits `bytes` at the leftmost-longest matches of `patterns` (longest first), with each
    /// token's lstrip/rstrip taking the whitespace beside it.
    static func split(_ bytes: [UInt8], on patterns: [(bytes: [UInt8], token: AddedToken)], _ body: (AddedSplit) -> Void) {
        var segmentStart = 0
        var i = 0
        while !patterns.isEmpty, i < bytes.count {
            guard let match = patterns.first(where: { i + $0.bytes.count <= bytes.count && bytes[i..<(i + $0.bytes.count)].elementsEqual($0.bytes) })
            else {
                i += 1
                continue
            }
            var start = i
            var end = i + match.bytes.count
            if match.token.lstrip { while start > segmentStart, isSpaceByte(bytes[start - 1]) { start -= 1 } }
            if match.token.rstrip { while end < bytes.count, isSpaceByte(bytes[end]) { end += 1 } }
            if start > segmentStart { body(.text(segmentStart..<start)) }
            body(.token(match.token.id))
            segmentStart = end
            i = end
        }
        if bytes.count > segmentStart { body(.text(segmentStart..<bytes.count)) }
    }

    private static func isSpaceByte(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// Normalizes, pre-tokenizes and models one segment without added tokens; `cache` (one per
    /// thread) remembers the ids of words already seen.
    func encodeSegment(_ segment: String, atStart: Bool, into out: inout [Int32], cache: HuggingFaceEncoder? = nil,
                       matchNormalized: Bool = false) {
        let normalized = normalizer?.apply(segment) ?? segment
        if matchNormalized, !normalizedAdded.isEmpty {
            // Added tokens marked `normalized` match the normalized text (their content normalized too).
            let bytes = Array(normalized.utf8)
            Self.split(bytes, on: normalizedAdded) { piece in
                switch piece {
                case let .token(id): out.append(id)
                case let .text(range):
                    encodeWords(String(decoding: bytes[range], as: UTF8.self), atStart: atStart && range.lowerBound == 0, into: &out, cache: cache)
                }
            }
            return
        }
        encodeWords(normalized, atStart: atStart, into: &out, cache: cache)
    }

    /// Pre-tokenizes normalized text and runs the model on each word.
    private func encodeWords(_ normalized: String, atStart: Bool, into out: inout [Int32], cache: HuggingFaceEncoder?) {
        let scalars = Array(normalized.unicodeScalars)
        guard !scalars.isEmpty else { return }
        let words = preTokenizer?.split(scalars, atStart: atStart) ?? [scalars]
        for word in words {
            if let cache, let ids = cache.words[word] {
                out += ids
                continue
            }
            let mark = out.count
            switch model {
            case let .wordPiece(wordPiece): wordPiece.tokenize(word, into: &out)
            case let .unigram(unigram): unigram.tokenize(word, into: &out)
            case .bpe: break
            }
            if let cache, word.count <= 64 {
                if cache.words.count >= 1 << 20 { cache.words.removeAll(keepingCapacity: true) }
                cache.words[word] = Array(out[mark...])
            }
        }
    }
}
