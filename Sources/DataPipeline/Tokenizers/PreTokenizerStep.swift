import Foundation

/// A `pre_tokenizer` of a Hugging Face `tokenizer.json` for the WordPiece and Unigram models:
/// splits normalized text into words, each tokenized on its own.
///
/// Supported: `BertPreTokenizer` (split on whitespace, which is dropped, and isolate every
/// punctuation character), `Whitespace` (`\w+|[^\w\s]+`), `WhitespaceSplit`, `Punctuation`
/// (isolated), `Digits`, `Metaspace` (replacement, prepend_scheme always/first/never or the old
/// add_prefix_space, split) and `Sequence` of these.
indirect enum PreTokenizerStep {
    case bert
    case whitespace
    case whitespaceSplit
    case punctuation
    case digits(individual: Bool)
    case metaspace(replacement: Unicode.Scalar, prepend: MetaspacePrepend, split: Bool)
    case sequence([PreTokenizerStep])

    /// Metaspace's `prepend_scheme`.
    enum MetaspacePrepend: String {
        case always, first, never
    }

    /// A piece of text on its way through the steps; `atStart` is true when it begins the text
    /// segment the caller passed (Metaspace's "first" prepends only there).
    struct Piece {
        var scalars: [Unicode.Scalar]
        var atStart: Bool
    }

    /// Parses a `pre_tokenizer` object; throws naming an unsupported type.
    static func parse(_ value: Any?, path: String) throws -> PreTokenizerStep? {
        guard let component = try TokenizerComponent(value, kind: "pre_tokenizer", path: path) else { return nil }
        let object = component.object, type = component.type
        switch type {
        case "BertPreTokenizer": return .bert
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Punctuation":
            let behavior = object["behavior"] as? String ?? "Isolated"
            guard behavior == "Isolated" else {
                throw DataError.unsupportedTokenizer(path: path, feature: "pre_tokenizer Punctuation with behavior \(behavior)")
            }
            return .punctuation
        case "Digits": return .digits(individual: object["individual_digits"] as? Bool ?? false)
        case "Metaspace":
            let replacement = (object["replacement"] as? String)?.unicodeScalars.first ?? "\u{2581}"
            var prepend = MetaspacePrepend.always
            if let scheme = object["prepend_scheme"] as? String {
                guard let parsed = MetaspacePrepend(rawValue: scheme) else {
                    throw DataError.unsupportedTokenizer(path: path, feature: "Metaspace prepend_scheme \(scheme)")
                }
                prepend = parsed
            } else if let add = object["add_prefix_space"] as? Bool {
                prepend = add ? .always : .never
            }
            return .metaspace(replacement: replacement, prepend: prepend, split: object["split"] as? Bool ?? true)
        case "Sequence":
            let steps = object["pretokenizers"] as? [Any] ?? []
            return .sequence(try steps.compactMap { try parse($0, path: path) })
        default:
            throw DataError.unsupportedTokenizer(path: path, feature: "pre_tokenizer \(type)")
        }
    }

    /// Splits one normalized segment into words (empty words are dropped).
    func split(_ text: [Unicode.Scalar], atStart: Bool) -> [[Unicode.Scalar]] {
        apply([Piece(scalars: text, atStart: atStart)]).map(\.scalars).filter { !$0.isEmpty }
    }

    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case let .sequence(steps):
            return steps.reduce(pieces) { $1.apply($0) }
        default:
            var out: [Piece] = []
            for piece in pieces { splitOne(piece, into: &out) }
            return out
        }
    }

    private func splitOne(_ piece: Piece, into out: inout [Piece]) {
        let s = piece.scalars
        var first = true
        func emit(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            out.append(Piece(scalars: Array(s[range]), atStart: piece.atStart && range.lowerBound == 0))
            first = false
        }
        switch self {
        case .bert, .whitespaceSplit:
            var start = 0
            for (i, scalar) in s.enumerated() {
                let isSpace = self.isBert ? BertCharacters.isWhitespace(scalar) : scalar.properties.isWhitespace
                if isSpace {
                    emit(start..<i)
                    start = i + 1
                } else if self.isBert, BertCharacters.isPunctuation(scalar) {
                    emit(start..<i)
                    emit(i..<(i + 1))
                    start = i + 1
                }
            }
            emit(start..<s.count)
        case .whitespace:
            // \w+|[^\w\s]+ : runs of word characters, runs of other non-space characters.
            var i = 0
            while i < s.count {
                if s[i].properties.isWhitespace {
                    i += 1
                    continue
                }
                let word = BertCharacters.isWordCharacter(s[i])
                var j = i + 1
                while j < s.count, !s[j].properties.isWhitespace, BertCharacters.isWordCharacter(s[j]) == word { j += 1 }
                emit(i..<j)
                i = j
            }
        case .punctuation:
            var start = 0
            for (i, scalar) in s.enumerated() where BertCharacters.isPunctuation(scalar) {
                emit(start..<i)
                emit(i..<(i + 1))
                start = i + 1
            }
            emit(start..<s.count)
        case let .digits(individual):
            var i = 0
            while i < s.count {
                let digit = s[i].properties.numericType == .decimal
                var j = i + 1
                if !(digit && individual) {
                    while j < s.count, (s[j].properties.numericType == .decimal) == digit { j += 1 }
                }
                emit(i..<j)
                i = j
            }
        case let .metaspace(replacement, prepend, split):
            var text = s.map { $0 == " " ? replacement : $0 }
            let wantsPrefix = prepend == .always || (prepend == .first && piece.atStart)
            if wantsPrefix, text.first != replacement { text.insert(replacement, at: 0) }
            guard split else {
                if !text.isEmpty { out.append(Piece(scalars: text, atStart: piece.atStart)) }
                return
            }
            var start = 0
            for i in text.indices where text[i] == replacement && i > start {
                out.append(Piece(scalars: Array(text[start..<i]), atStart: piece.atStart && start == 0))
                start = i
            }
            if start < text.count { out.append(Piece(scalars: Array(text[start...]), atStart: piece.atStart && start == 0)) }
        case .sequence:
            out.append(piece)
        }
        _ = first
    }

    private var isBert: Bool {
        if case .bert = self { return true }
        return false
    }
}
