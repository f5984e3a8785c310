import Foundation

/// A `normalizer` of a Hugging Face `tokenizer.json`: text in, text out, applied before splitting.
///
/// Supported: `BertNormalizer` (clean_text, handle_chinese_chars, strip_accents — null follows
/// lowercase — and lowercase, in that order), `Lowercase`, `NFC`, `NFD`, `NFKC`, `NFKD`,
/// `StripAccents` (drops nonspacing marks), `Strip`, `Replace` (a string or a regex pattern),
/// `Prepend`, `Nmt`, SentencePiece's `Precompiled` charsmap (T5) and `Sequence`.
indirect enum TextNormalizer {
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case lowercase
    case nfc, nfd, nfkc, nfkd
    case stripAccents
    case strip(left: Bool, right: Bool)
    case replace(pattern: String, isRegex: NSRegularExpression?, content: String)
    case prepend(String)
    case nmt
    case precompiled(PrecompiledCharsMap)
    case sequence([TextNormalizer])

    /// Parses a `normalizer` object; throws naming an unsupported type.
    static func parse(_ value: Any?, path: String) throws -> TextNormalizer? {
        guard let component = try TokenizerComponent(value, kind: "normalizer", path: path) else { return nil }
        let object = component.object, type = component.type
        switch type {
        case "BertNormalizer":
            let lowercase = object["lowercase"] as? Bool ?? true
            return .bert(cleanText: object["clean_text"] as? Bool ?? true,
                         chineseChars: object["handle_chinese_chars"] as? Bool ?? true,
                         stripAccents: object["strip_accents"] as? Bool ?? lowercase, lowercase: lowercase)
        case "Lowercase": return .lowercase
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "StripAccents": return .stripAccents
        case "Strip":
            return .strip(left: object["strip_left"] as? Bool ?? true, right: object["strip_right"] as? Bool ?? true)
        case "Prepend": return .prepend(object["prepend"] as? String ?? "")
        case "Nmt": return .nmt
        case "Precompiled":
            guard let text = object["precompiled_charsmap"] as? String else { return nil }  // null: no rules
            guard let map = PrecompiledCharsMap(base64: text) else {
                throw DataError.malformedTokenizer(path: path, problem: "Precompiled normalizer's precompiled_charsmap is not a valid charsmap")
            }
            return .precompiled(map)
        case "Replace":
            let pattern = object["pattern"] as? [String: Any]
            let content = object["content"] as? String ?? ""
            if let literal = pattern?["String"] as? String { return .replace(pattern: literal, isRegex: nil, content: content) }
            if let regex = pattern?["Regex"] as? String {
                guard let compiled = try? NSRegularExpression(pattern: regex) else {
                    throw DataError.unsupportedTokenizer(path: path, feature: "normalizer Replace regex \(regex)")
                }
                return .replace(pattern: regex, isRegex: compiled, content: content)
            }
            throw DataError.malformedTokenizer(path: path, problem: "Replace normalizer has no pattern")
        case "Sequence":
            let steps = object["normalizers"] as? [Any] ?? []
            return .sequence(try steps.compactMap { try parse($0, path: path) })
        default:
            throw DataError.unsupportedTokenizer(path: path, feature: "normalizer \(type)")
        }
    }

    /// The normalized text.
    func apply(_ text: String) -> String {
        switch self {
        case let .bert(cleanText, chineseChars, stripAccents, lowercase):
            var out = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                if cleanText {
                    if scalar.value == 0 || scalar.value == 0xFFFD || BertCharacters.isControl(scalar) { continue }
                    if BertCharacters.isWhitespace(scalar) {
                        out.append(" ")
                        continue
                    }
                }
                if chineseChars, BertCharacters.isChinese(scalar) {
                    out.append(" ")
                    out.append(scalar)
                    out.append(" ")
                } else {
                    out.append(scalar)
                }
            }
            var result = String(out)
            // ASCII has nothing to decompose and no marks: skip the (slow) NFD pass for it.
            if stripAccents, result.utf8.contains(where: { $0 >= 0x80 }) {
                result = TextNormalizer.stripAccents.apply(result.decomposedStringWithCanonicalMapping)
            }
            if lowercase { result = TextNormalizer.lowercase.apply(result) }
            return result
        case .lowercase:
            var out = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                if scalar.isASCII {
                    out.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(scalar.value + 32)! : scalar)
                } else {
                    out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                }
            }
            return String(out)
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .stripAccents:
            var out = String.UnicodeScalarView()
            for scalar in text.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark { out.append(scalar) }
            return String(out)
        case let .strip(left, right):
            var scalars = Array(text.unicodeScalars)
            if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
            if left { scalars = Array(scalars.drop { $0.properties.isWhitespace }) }
            return String(String.UnicodeScalarView(scalars))
        case let .replace(pattern, regex, content):
            if let regex {
                let range = NSRange(text.startIndex..., in: text)
                return regex.stringByReplacingMatches(in: text, range: range, withTemplate: NSRegularExpression.escapedTemplate(for: content))
            }
            return pattern.isEmpty ? text : text.replacingOccurrences(of: pattern, with: content)
        case let .prepend(prefix):
            return text.isEmpty ? text : prefix + text
        case .nmt:
            var out = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                switch scalar.value {
                case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x8F, 0x9F: continue
                case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD: out.append(" ")
                default: out.append(scalar)
                }
            }
            return String(out)
        case let .precompiled(map):
            return map.apply(text)
        case let .sequence(steps):
            return steps.reduce(text) { $1.apply($0) }
        }
    }
}
