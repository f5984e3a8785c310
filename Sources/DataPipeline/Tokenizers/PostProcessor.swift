import Foundation

/// A `post_processor` of a Hugging Face `tokenizer.json`: adds the special tokens around one
/// sequence or a pair when encoding with special tokens.
///
/// Supported: `TemplateProcessing`, `BertProcessing` (`[CLS] A [SEP]`, `[CLS] A [SEP] B [SEP]`),
/// `RobertaProcessing` (`<s> A </s>`, `<s> A </s></s> B </s>`), `ByteLevel` (ids unchanged) and
/// `Sequence` of these. Type ids follow the template (BERT: 0 for A, 1 for B).
indirect enum PostProcessor {
    /// One element of a template: a special token's ids, or sequence A/B, each with a type id.
    enum Piece {
        case special(ids: [Int32], typeId: Int32)
        case sequence(isB: Bool, typeId: Int32)
    }

    case template(single: [Piece], pair: [Piece])
    case none
    case sequence([PostProcessor])

    /// Parses a `post_processor` object; throws naming an unsupported type.
    static func parse(_ value: Any?, path: String) throws -> PostProcessor {
        guard let component = try TokenizerComponent(value, kind: "post_processor", path: path) else { return .none }
        let object = component.object, type = component.type
        func token(_ key: String) throws -> Int32 {
            guard let pair = object[key] as? [Any], pair.count == 2, let id = (pair[1] as? NSNumber)?.int32Value else {
                throw DataError.malformedTokenizer(path: path, problem: "\(type) has no [token, id] \(key)")
            }
            return id
        }
        switch type {
        case "BertProcessing":
            let cls = try token("cls"), sep = try token("sep")
            return .template(single: [.special(ids: [cls], typeId: 0), .sequence(isB: false, typeId: 0), .special(ids: [sep], typeId: 0)],
                             pair: [.special(ids: [cls], typeId: 0), .sequence(isB: false, typeId: 0), .special(ids: [sep], typeId: 0),
                                    .sequence(isB: true, typeId: 1), .special(ids: [sep], typeId: 1)])
        case "RobertaProcessing":
            let cls = try token("cls"), sep = try token("sep")
            return .template(single: [.special(ids: [cls], typeId: 0), .sequence(isB: false, typeId: 0), .special(ids: [sep], typeId: 0)],
                             pair: [.special(ids: [cls], typeId: 0), .sequence(isB: false, typeId: 0), .special(ids: [sep, sep], typeId: 0),
                                    .sequence(isB: true, typeId: 0), .special(ids: [sep], typeId: 0)])
        case "TemplateProcessing":
            var specials: [String: [Int32]] = [:]
            for (name, entry) in object["special_tokens"] as? [String: Any] ?? [:] {
                specials[name] = ((entry as? [String: Any])?["ids"] as? [NSNumber])?.map(\.int32Value)
            }
            func pieces(_ key: String) throws -> [Piece] {
                guard let list = object[key] as? [[String: Any]] else {
                    throw DataError.malformedTokenizer(path: path, problem: "TemplateProcessing has no \(key) template")
                }
                return try list.map { item in
                    if let special = item["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                        guard let ids = specials[name] else {
                            throw DataError.malformedTokenizer(path: path, problem: "TemplateProcessing names \(name), missing from special_tokens")
                        }
                        return .special(ids: ids, typeId: (special["type_id"] as? NSNumber)?.int32Value ?? 0)
                    }
                    if let sequence = item["Sequence"] as? [String: Any] {
                        return .sequence(isB: sequence["id"] as? String == "B", typeId: (sequence["type_id"] as? NSNumber)?.int32Value ?? 0)
                    }
                    throw DataError.malformedTokenizer(path: path, problem: "TemplateProcessing item is neither SpecialToken nor Sequence")
                }
            }
            return .template(single: try pieces("single"), pair: try pieces("pair"))
        case "ByteLevel":
            return .none
        case "Sequence":
            return .sequence(try (object["processors"] as? [Any] ?? []).map { try parse($0, path: path) })
        default:
            throw DataError.unsupportedTokenizer(path: path, feature: "post_processor \(type)")
        }
    }

    /// How many special tokens `process` adds to one sequence or a pair.
    func addedCount(pair: Bool) -> Int {
        process([], pair ? [] : nil, addSpecialTokens: true).ids.count
    }

    /// The final ids and type ids of sequence `a` (and `b`), with or without special tokens.
    func process(_ a: [Int32], _ b: [Int32]?, addSpecialTokens: Bool) -> (ids: [Int32], typeIds: [Int32]) {
        switch self {
        case .none:
            return ((a + (b ?? [])), [Int32](repeating: 0, count: a.count) + [Int32](repeating: b == nil ? 0 : 1, count: b?.count ?? 0))
        case let .sequence(steps):
            // Every processor but the template ones leaves ids alone: apply the last template.
            for step in steps.reversed() {
                if case .template = step { return step.process(a, b, addSpecialTokens: addSpecialTokens) }
            }
            return PostProcessor.none.process(a, b, addSpecialTokens: addSpecialTokens)
        case let .template(single, pair):
            var ids: [Int32] = []
            var types: [Int32] = []
            for piece in b == nil ? single : pair {
                switch piece {
                case let .special(tokenIds, typeId):
                    guard addSpecialTokens else { continue }
                    ids += tokenIds
                    types += [Int32](repeating: typeId, count: tokenIds.count)
                case let .sequence(isB, typeId):
                    let part = isB ? (b ?? []) : a
                    ids += part
                    types += [Int32](repeating: typeId, count: part.count)
                }
            }
            return (ids, types)
        }
    }
}
