import Foundation

/// A `decoder` of a Hugging Face `tokenizer.json`: token strings back to text.
///
/// Supported: `WordPiece` (drop the `##` prefix, space before other pieces, optional cleanup of
/// spaces before punctuation and contractions), `Metaspace` (▁ → space, the first token's
/// dropped unless prepend_scheme is never), `ByteFallback` (runs of `<0xNN>` → UTF-8, U+FFFD per
/// byte when invalid), `Fuse`, `Strip`, `Replace` (string pattern) and `Sequence`; with no
/// decoder the tokens are joined with spaces, as the Python library does.
indirect enum TokenDecoderStep {
    case wordPiece(prefix: String, cleanup: Bool)
    case metaspace(replacement: Character, prependFirst: Bool)
    case byteFallback
    case fuse
    case strip(content: Character, start: Int, stop: Int)
    case replace(pattern: String, content: String)
    case sequence([TokenDecoderStep])

    /// Parses a `decoder` object; throws naming an unsupported type.
    static func parse(_ value: Any?, path: String) throws -> TokenDecoderStep? {
        guard let component = try TokenizerComponent(value, kind: "decoder", path: path) else { return nil }
        let object = component.object, type = component.type
        switch type {
        case "WordPiece":
            return .wordPiece(prefix: object["prefix"] as? String ?? "##", cleanup: object["cleanup"] as? Bool ?? true)
        case "Metaspace":
            let replacement = (object["replacement"] as? String)?.first ?? "\u{2581}"
            var prepend = true
            if let scheme = object["prepend_scheme"] as? String { prepend = scheme != "never" }
            else if let add = object["add_prefix_space"] as? Bool { prepend = add }
            return .metaspace(replacement: replacement, prependFirst: prepend)
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            return .strip(content: (object["content"] as? String)?.first ?? " ",
                          start: (object["start"] as? NSNumber)?.intValue ?? 0, stop: (object["stop"] as? NSNumber)?.intValue ?? 0)
        case "Replace":
            guard let pattern = (object["pattern"] as? [String: Any])?["String"] as? String else {
                throw DataError.unsupportedTokenizer(path: path, feature: "decoder Replace with a regex pattern")
            }
            return .replace(pattern: pattern, content: object["content"] as? String ?? "")
        case "Sequence":
            return .sequence(try (object["decoders"] as? [Any] ?? []).compactMap { try parse($0, path: path) })
        default:
            throw DataError.unsupportedTokenizer(path: path, feature: "decoder \(type)")
        }
    }

    /// One step of the chain: tokens in, tokens out.
    func apply(_ tokens: [String]) -> [String] {
        switch self {
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, token in
                var t = token
                if i != 0 {
                    if !prefix.isEmpty, t.hasPrefix(prefix) { t = String(t.dropFirst(prefix.count)) } else { t = " " + t }
                }
                return cleanup ? Self.cleanup(t) : t
            }
        case let .metaspace(replacement, prependFirst):
            return tokens.enumerated().map { i, token in
                var out = ""
                for c in token {
                    if c == replacement {
                        if !(i == 0 && prependFirst) { out.append(" ") }
                    } else {
                        out.append(c)
                    }
                }
                return out
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) { out.append(text) }
                else { out += [String](repeating: "\u{FFFD}", count: pending.count) }
                pending.removeAll()
            }
            for token in tokens {
                let u = Array(token.utf8)
                if u.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"), let byte = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                var chars = Array(token)
                var s = 0
                while s < start, s < chars.count, chars[s] == content { s += 1 }
                chars.removeFirst(s)
                var e = 0
                while e < stop, let last = chars.last, last == content { chars.removeLast(); e += 1 }
                return String(chars)
            }
        case let .replace(pattern, content):
            return tokens.map { $0.replacingOccurrences(of: pattern, with: content) }
        case let .sequence(steps):
            return steps.reduce(tokens) { $1.apply($0) }
        }
    }

    /// WordPiece's cleanup of spaces before punctuation and in English contractions.
    static func cleanup(_ text: String) -> String {
        var t = text
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                           (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] where t.contains(from) {
            t = t.replacingOccurrences(of: from, with: to)
        }
        return t
    }
}
