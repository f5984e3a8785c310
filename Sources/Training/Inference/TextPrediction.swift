import Foundation

/// What `TextPredictor.predict` found: the candidates of every [MASK], a label, or feature vectors.
public enum TextPrediction {
    /// fill-mask: one entry per [MASK], in text order.
    case masks([MaskPrediction])
    /// classify: the label probabilities.
    case label(LabelPrediction)
    /// feature-extraction: one vector per token, or one pooled vector.
    case features([[Float]], pooled: Bool)
    /// text2text-generation, translation, summarization: the generated texts with their ids (EOS
    /// dropped), one per returned sequence (best first), and the pipeline's name for them
    /// (`generated_text`, `translation_text`, `summary_text`).
    case generated([(text: String, ids: [Int32])], field: String)

    /// The prediction as one line of JSON: fill-mask `[[{"token_str", "token", "score"}, …] per [MASK]]`,
    /// classify `{"label", "score", "scores": {name: p}}`, feature-extraction the vectors (`[[…], …]`,
    /// or `[…]` when pooled), generation `[{"generated_text"}, …]` per returned sequence (`translation_text`,
    /// `summary_text` for those tasks), as Hugging Face's pipelines name the fields.
    public var json: String {
        let object: Any
        switch self {
        case let .masks(masks):
            object = masks.map { $0.candidates.map { ["token_str": $0.text, "token": $0.id, "score": $0.probability] as [String: Any] } }
        case let .label(label):
            object = ["label": label.names[label.best], "score": label.probabilities[label.best],
                      "scores": Dictionary(zip(label.names, label.probabilities), uniquingKeysWith: { a, _ in a })] as [String: Any]
        case let .features(rows, pooled):
            let doubles = rows.map { $0.map(Double.init) }
            object = pooled ? doubles[0] as Any : doubles as Any
        case let .generated(outputs, field):
            object = outputs.map { [field: $0.text] }
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The prediction as `pretrain predict` prints it: per [MASK] the candidates
    /// ("[MASK] 1: token<TAB>p<TAB>id N", whitespace and control characters made visible), or the
    /// label and every label's probability; features as `json`; generated texts one per line.
    public var text: String {
        switch self {
        case let .masks(masks):
            return masks.enumerated().flatMap { n, mask in
                mask.candidates.enumerated().map { rank, candidate in
                    "[MASK]\(masks.count > 1 ? "#\(n + 1)" : "") \(rank + 1): \(Self.visible(candidate.text))\t\(String(format: "%.6f", candidate.probability))\tid \(candidate.id)"
                }
            }.joined(separator: "\n")
        case let .label(label):
            return (["label: \(label.names[label.best])\t\(String(format: "%.6f", label.probabilities[label.best]))\tid \(label.best)"]
                + zip(label.names, label.probabilities).map { "  \($0)\t\(String(format: "%.6f", $1))" }).joined(separator: "\n")
        case .features: return json
        case let .generated(outputs, _): return outputs.map(\.text).joined(separator: "\n")
        }
    }

    /// A token's text with whitespace and control characters made visible.
    static func visible(_ s: String) -> String {
        s.unicodeScalars.map { $0 == " " ? "␣" : ($0.value < 0x20 || $0.value == 0x7F) ? String(format: "\\x%02x", $0.value) : String($0) }.joined()
    }
}
