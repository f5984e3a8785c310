import Foundation

/// Loading `tokenizer.json` files of any supported model into a `HuggingFaceTokenizer`.
extension HuggingFaceTokenizer {
    /// Loads a `tokenizer.json` (WordPiece, Unigram or byte-level BPE); throws one `DataError`
    /// line naming the model type, normalizer, pre-tokenizer, post-processor or decoder that is
    /// not supported.
    public static func load(from path: String) throws -> HuggingFaceTokenizer {
        guard FileIO.kind(path).exists else { throw DataError.inputMissing(path: path) }
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: Foundation.Data(FileIO.readAll(path))) as? [String: Any] else {
                throw DataError.malformedTokenizer(path: path, problem: "top level is not a JSON object")
            }
            root = object
        } catch let error as DataError {
            throw error
        } catch {
            throw DataError.malformedTokenizer(path: path, problem: "not valid JSON")
        }
        guard let model = root["model"] as? [String: Any] else {
            if path.hasSuffix("vocab.json") || path.hasSuffix("merges.txt") {
                return try wrap(Tokenizer.load(from: path), root: [:], path: path)
            }
            throw DataError.malformedTokenizer(path: path, problem: "no \"model\" object")
        }
        let type = model["type"] as? String ?? "(untyped)"
        let added = try addedTokens(root, path: path)
        switch type {
        case "BPE":
            return try wrap(Tokenizer.load(from: path), root: root, path: path)
        case "WordPiece":
            guard let vocab = model["vocab"] as? [String: Any] else {
                throw DataError.malformedTokenizer(path: path, problem: "model.vocab is not an object")
            }
            var tokens: [String] = []
            for (token, value) in vocab {
                guard let id = (value as? NSNumber)?.intValue, id >= 0, id < Int(Int32.max) else {
                    throw DataError.malformedTokenizer(path: path, problem: "vocab entry \"\(token)\" has no valid id")
                }
                if id >= tokens.count { tokens += [String](repeating: "", count: id + 1 - tokens.count) }
                tokens[id] = token
            }
            let wordPiece = try WordPieceModel(
                vocabulary: tokens, unknownToken: model["unk_token"] as? String ?? "[UNK]",
                continuingSubwordPrefix: model["continuing_subword_prefix"] as? String ?? "##",
                maxInputCharsPerWord: (model["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100, path: path)
            return try assemble(type, .wordPiece(wordPiece), tokens: tokens, added: added, root: root, path: path)
        case "Unigram":
            guard let vocab = model["vocab"] as? [[Any]] else {
                throw DataError.malformedTokenizer(path: path, problem: "model.vocab is not a list of [piece, score]")
            }
            var tokens: [String] = []
            var scores: [Double] = []
            for (index, entry) in vocab.enumerated() {
                guard entry.count == 2, let piece = entry[0] as? String, let score = (entry[1] as? NSNumber)?.doubleValue else {
                    throw DataError.malformedTokenizer(path: path, problem: "vocab entry \(index) is not [piece, score]")
                }
                tokens.append(piece)
                scores.append(score)
            }
            let unknown = (model["unk_id"] as? NSNumber).map { Int32($0.intValue) }
            if let unknown, unknown < 0 || Int(unknown) >= tokens.count {
                throw DataError.malformedTokenizer(path: path, problem: "unk_id \(unknown) is outside the vocabulary")
            }
            let unigram = UnigramModel(vocabulary: tokens, scores: scores, unknown: unknown,
                                       byteFallback: model["byte_fallback"] as? Bool ?? false, fuseUnknown: true)
            return try assemble(type, .unigram(unigram), tokens: tokens, added: added, root: root, path: path)
        default:
            throw DataError.unsupportedTokenizer(path: path, feature: "model \(type) (supported: BPE, WordPiece, Unigram)")
        }
    }

    /// A byte-level BPE tokenizer (no post-processor) in this type, as a BPE `tokenizer.json` loads.
    public convenience init(byteLevel bpe: Tokenizer) {
        let tokens = (0..<bpe.vocabularySize).map { ByteLevel.encode(bpe.bytes(of: Int32($0))) }
        self.init(modelType: "BPE", model: .bpe(bpe), tokens: tokens, addedTokens: bpe.addedTokens, normalizer: nil,
                  preTokenizer: nil, postProcessor: .none, decoder: nil, sourcePath: bpe.sourcePath)
    }

    private static func wrap(_ bpe: Tokenizer, root: [String: Any], path: String) throws -> HuggingFaceTokenizer {
        let tokens = (0..<bpe.vocabularySize).map { ByteLevel.encode(bpe.bytes(of: Int32($0))) }
        return HuggingFaceTokenizer(modelType: "BPE", model: .bpe(bpe), tokens: tokens, addedTokens: bpe.addedTokens, normalizer: nil,
                                    preTokenizer: nil, postProcessor: try PostProcessor.parse(root["post_processor"], path: path),
                                    decoder: nil, sourcePath: path, limits: try EncodingLimits.parse(root, path: path))
    }

    private static func assemble(_ type: String, _ model: Model, tokens: [String], added: [AddedToken], root: [String: Any],
                                 path: String) throws -> HuggingFaceTokenizer
    {
        HuggingFaceTokenizer(
            modelType: type, model: model, tokens: tokens, addedTokens: added,
            normalizer: try TextNormalizer.parse(root["normalizer"], path: path),
            preTokenizer: try PreTokenizerStep.parse(root["pre_tokenizer"], path: path),
            postProcessor: try PostProcessor.parse(root["post_processor"], path: path),
            decoder: try TokenDecoderStep.parse(root["decoder"], path: path), sourcePath: path,
            limits: try EncodingLimits.parse(root, path: path))
    }

    static func addedTokens(_ root: [String: Any], path: String) throws -> [AddedToken] {
        var added: [AddedToken] = []
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = (entry["id"] as? NSNumber)?.intValue, let content = entry["content"] as? String else {
                throw DataError.malformedTokenizer(path: path, problem: "an added_tokens entry lacks id or content")
            }
            added.append(AddedToken(
                id: Int32(id), content: content, special: entry["special"] as? Bool ?? false,
                lstrip: entry["lstrip"] as? Bool ?? false, rstrip: entry["rstrip"] as? Bool ?? false,
                singleWord: entry["single_word"] as? Bool ?? false, normalized: entry["normalized"] as? Bool ?? false))
        }
        return added
    }
}
