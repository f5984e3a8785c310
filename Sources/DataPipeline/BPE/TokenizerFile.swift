import Foundation

/// Reading and writing Hugging Face `tokenizer.json` files and GPT-2's `vocab.json` + `merges.txt`.
///
/// Accepted: model `BPE` (no dropout, no subword prefix/suffix, no byte fallback) with a
/// `ByteLevel` pre-tokenizer that applies GPT-2's split (`use_regex` true), directly or as the only
/// step of a `Sequence`; normalizer null. The post-processor is ignored (ids are returned as the
/// Python library's `encode(text, add_special_tokens=False)` would), and decoding is always
/// byte-level. Saved files use the layout the Python library writes for GPT-2.
extension Tokenizer {
    /// Loads `path`: a `tokenizer.json`, or a `vocab.json` whose `merges.txt` sits beside it.
    public static func load(from path: String) throws -> Tokenizer {
        guard FileIO.kind(path).exists else { throw DataError.inputMissing(path: path) }
        if path.hasSuffix("merges.txt") {
            let directory = (path as NSString).deletingLastPathComponent
            return try load(vocabulary: (directory as NSString).appendingPathComponent("vocab.json"), merges: path)
        }
        let object = try parseJSON(path)
        guard let root = object as? [String: Any] else {
            throw DataError.malformedTokenizer(path: path, problem: "top level is not a JSON object")
        }
        // A bare vocab.json maps tokens to numbers (GPT-2's even has a token "model").
        if !(root["model"] is [String: Any]), root.values.allSatisfy({ $0 is NSNumber }) {
            let directory = (path as NSString).deletingLastPathComponent
            let merges = (directory as NSString).appendingPathComponent("merges.txt")
            guard FileIO.kind(merges).exists else {
                throw DataError.malformedTokenizer(path: path, problem: "a bare vocab.json needs merges.txt beside it")
            }
            return try load(vocabulary: path, merges: merges)
        }
        return try fromHuggingFace(root, path: path)
    }

    /// Loads GPT-2's original files; `<|endoftext|>`, when in the vocabulary, becomes an added
    /// special token (as the Python library's GPT-2 tokenizer treats it).
    public static func load(vocabulary: String, merges: String) throws -> Tokenizer {
        guard FileIO.kind(vocabulary).exists else { throw DataError.inputMissing(path: vocabulary) }
        guard FileIO.kind(merges).exists else { throw DataError.inputMissing(path: merges) }
        guard let vocab = try parseJSON(vocabulary) as? [String: Any] else {
            throw DataError.malformedTokenizer(path: vocabulary, problem: "not a JSON object of token → id")
        }
        let text = String(decoding: try FileIO.readAll(merges), as: UTF8.self)
        var pairs: [(String, String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw DataError.malformedTokenizer(path: merges, problem: "line \"\(line.prefix(40))\" is not two tokens separated by one space")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        var added: [AddedToken] = []
        if let eot = (vocab[AddedToken.endOfText] as? NSNumber)?.intValue {
            added.append(AddedToken(id: Int32(eot), content: AddedToken.endOfText))
        }
        return try build(vocab: vocab, merges: pairs, added: added, addPrefixSpace: false, ignoreMerges: false, path: vocabulary)
    }

    private static func parseJSON(_ path: String) throws -> Any {
        let bytes = try FileIO.readAll(path)
        do {
            return try JSONSerialization.jsonObject(with: Foundation.Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw DataError.malformedTokenizer(path: path, problem: "not valid JSON")
        }
    }

    private static func fromHuggingFace(_ root: [String: Any], path: String) throws -> Tokenizer {
        guard let model = root["model"] as? [String: Any] else {
            throw DataError.malformedTokenizer(path: path, problem: "no \"model\" object")
        }
        let type = model["type"] as? String ?? "(untyped)"
        guard type == "BPE" else { throw DataError.notBPE(path: path, modelType: type) }
        if let dropout = model["dropout"] as? NSNumber, dropout.doubleValue > 0 {
            throw DataError.unsupportedTokenizer(path: path, feature: "BPE dropout \(dropout)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key] as? String, !value.isEmpty {
                throw DataError.unsupportedTokenizer(path: path, feature: "\(key) \"\(value)\"")
            }
        }
        if (model["byte_fallback"] as? Bool) == true {
            throw DataError.unsupportedTokenizer(path: path, feature: "byte_fallback (a SentencePiece-style BPE, not byte-level)")
        }
        if let normalizer = root["normalizer"], !(normalizer is NSNull) {
            let name = (normalizer as? [String: Any])?["type"] as? String ?? "unknown"
            throw DataError.unsupportedTokenizer(path: path, feature: "normalizer \(name)")
        }
        let addPrefixSpace = try byteLevelPreTokenizer(root["pre_tokenizer"], path: path)
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw DataError.malformedTokenizer(path: path, problem: "model.vocab is not an object")
        }
        guard let mergeList = model["merges"] as? [Any] else {
            throw DataError.malformedTokenizer(path: path, problem: "model.merges is not a list")
        }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(mergeList.count)
        for (index, entry) in mergeList.enumerated() {
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw DataError.malformedTokenizer(path: path, problem: "merge \(index) \"\(line)\" is not two tokens")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [String], pair.count == 2 {
                pairs.append((pair[0], pair[1]))
            } else {
                throw DataError.malformedTokenizer(path: path, problem: "merge \(index) is neither \"a b\" nor [\"a\", \"b\"]")
            }
        }
        let added = try HuggingFaceTokenizer.addedTokens(root, path: path)
        return try build(vocab: vocab, merges: pairs, added: added, addPrefixSpace: addPrefixSpace,
                         ignoreMerges: model["ignore_merges"] as? Bool ?? false, path: path)
    }

    /// Checks the pre-tokenizer is GPT-2's byte-level split; returns its `add_prefix_space`.
    private static func byteLevelPreTokenizer(_ value: Any?, path: String) throws -> Bool {
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw DataError.unsupportedTokenizer(path: path, feature: "no pre_tokenizer (expected ByteLevel)")
        }
        if type == "Sequence", let steps = object["pretokenizers"] as? [Any], steps.count == 1 {
            return try byteLevelPreTokenizer(steps[0], path: path)
        }
        guard type == "ByteLevel" else {
            throw DataError.unsupportedTokenizer(path: path, feature: "pre_tokenizer \(type) (expected ByteLevel)")
        }
        if (object["use_regex"] as? Bool) == false {
            throw DataError.unsupportedTokenizer(path: path, feature: "ByteLevel pre_tokenizer without GPT-2's split (use_regex false)")
        }
        return object["add_prefix_space"] as? Bool ?? false
    }

    /// Resolves string vocab and merges to ids and builds the tokenizer.
    private static func build(vocab: [String: Any], merges: [(String, String)], added: [AddedToken],
                              addPrefixSpace: Bool, ignoreMerges: Bool, path: String) throws -> Tokenizer
    {
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(vocab.count)
        var size = 0
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < Int(Int32.max) else {
                throw DataError.malformedTokenizer(path: path, problem: "vocab entry \"\(token)\" has no valid id")
            }
            ids[token] = Int32(id)
            size = max(size, id + 1)
        }
        var tokens = [[UInt8]?](repeating: nil, count: size)
        let addedIds = Set(added.map(\.id))
        for (token, id) in ids {
            if let bytes = ByteLevel.decode(token) {
                tokens[Int(id)] = bytes
            } else if !addedIds.contains(id) {
                throw DataError.malformedTokenizer(path: path, problem: "vocab entry \"\(token)\" is not in the byte-level alphabet")
            }
        }
        // Added tokens' own text is stored raw, not through the byte alphabet.
        for token in added where Int(token.id) < size { tokens[Int(token.id)] = nil }
        var resolved: [(left: Int32, right: Int32)] = []
        resolved.reserveCapacity(merges.count)
        for (index, pair) in merges.enumerated() {
            guard let left = ids[pair.0], let right = ids[pair.1] else {
                throw DataError.malformedTokenizer(path: path, problem: "merge \(index) \"\(pair.0) \(pair.1)\" names a token missing from the vocabulary")
            }
            resolved.append((left, right))
        }
        return try Tokenizer(tokens: tokens, merges: resolved, addedTokens: added,
                             addPrefixSpace: addPrefixSpace, ignoreMerges: ignoreMerges, sourcePath: path)
    }

    /// The `tokenizer.json` text: the Python library's GPT-2 layout, vocab in id order, one entry
    /// per line (stable bytes for the same tokenizer, so prepared data is reproducible).
    public func jsonText() -> String {
        let addedById = Dictionary(addedTokens.map { ($0.id, $0.content) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        let vocab = (0..<vocabularySize).compactMap { id -> String? in
            guard hasToken[id] else { return nil }
            let key = addedById[Int32(id)] ?? ByteLevel.encode(bytes(of: Int32(id)))
            return seen.insert(key).inserted ? "\(JSONText.quote(key)): \(id)" : nil
        }
        let mergeLines = merges.map { JSONText.quote(ByteLevel.encode(bytes(of: $0.left)) + " " + ByteLevel.encode(bytes(of: $0.right))) }
        return AddedToken.tokenizerJSONHeader(addedTokens) + """
              "normalizer": null,
              "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": \(addPrefixSpace), "trim_offsets": true, "use_regex": true},
              "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
              "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": null,
                "continuing_subword_prefix": null,
                "end_of_word_suffix": null,
                "fuse_unk": false,
                "byte_fallback": false,
                "ignore_merges": \(ignoreMerges),
                "vocab": {\(JSONText.lines(vocab, indent: 6))
                },
                "merges": [\(JSONText.lines(mergeLines, indent: 6))
                ]
              }
            }

            """
    }

    /// Writes `jsonText()` to `path` atomically (temporary file, then rename).
    public func save(to path: String) throws {
        try FileIO.writeAtomically(Array(jsonText().utf8), to: path)
    }
}

/// JSON text pieces for the `tokenizer.json` writers.
enum JSONText {
    /// The entries of a JSON array or object written one per line at `indent` spaces, each line
    /// starting with a newline ("\n      a,\n      b"); empty for no entries.
    static func lines(_ entries: [String], indent: Int) -> String {
        let pad = "\n" + String(repeating: " ", count: indent)
        return entries.map { pad + $0 }.joined(separator: ",")
    }

    /// `value` as a JSON string literal: quotes, backslashes and control characters escaped,
    /// everything else written as UTF-8.
    static func quote(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
