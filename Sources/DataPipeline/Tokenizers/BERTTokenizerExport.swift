import Foundation

/// The tokenizer files of a Hugging Face BERT export, so `AutoTokenizer` and `pipeline(...)` load
/// what `pretrain predict` uses: `tokenizer.json` with a post-processor adding `[CLS] A [SEP]`
/// (`[CLS] A [SEP] B [SEP]` for pairs) when the source has none, `tokenizer_config.json` naming
/// `PreTrainedTokenizerFast` (which reads tokenizer.json as it is, WordPiece or byte-level BPE) and the
/// special tokens, and `special_tokens_map.json`.
public enum BERTTokenizerExport {
    /// Writes the three files into `directory` from the tokenizer.json at `source`; `maxLength` is
    /// the model's max_seq_len. Returns the names written; one-line `DataError`s.
    @discardableResult
    public static func write(source: String, to directory: String, maxLength: Int) throws -> [String] {
        let tokenizer = try HuggingFaceTokenizer.load(from: source)
        let specials = try BERTSpecialTokens(tokenizer: tokenizer)
        guard var root = try JSONSerialization.jsonObject(with: Data(FileIO.readAll(source))) as? [String: Any] else {
            throw DataError.malformedTokenizer(path: source, problem: "top level is not a JSON object")
        }
        let kind = (root["post_processor"] as? [String: Any])?["type"] as? String
        if !["TemplateProcessing", "BertProcessing", "RobertaProcessing"].contains(kind ?? "") {
            root["post_processor"] = template(cls: specials.cls, sep: specials.sep)
        }
        var names: [String: String] = ["cls_token": AddedToken.cls, "sep_token": AddedToken.sep, "mask_token": AddedToken.mask, "pad_token": AddedToken.pad]
        if tokenizer.id(of: "[UNK]") != nil { names["unk_token"] = "[UNK]" }
        var config: [String: Any] = names
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config["model_max_length"] = maxLength
        config["clean_up_tokenization_spaces"] = false
        let files: [(String, Any)] = [("tokenizer.json", root), ("tokenizer_config.json", config), ("special_tokens_map.json", names)]
        for (name, object) in files {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            do { try data.write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic) } catch {
                throw DataError.invalidSetting(name: directory + "/" + name, problem: "cannot write (\(error.localizedDescription))")
            }
        }
        return files.map(\.0)
    }

    /// `TemplateProcessing` as `BertTokenizerFast` saves it: `[CLS] $A [SEP]`, `[CLS] $A [SEP] $B:1 [SEP]:1`.
    static func template(cls: Int32, sep: Int32) -> [String: Any] {
        func special(_ name: String, _ type: Int) -> [String: Any] { ["SpecialToken": ["id": name, "type_id": type]] }
        func sequence(_ name: String, _ type: Int) -> [String: Any] { ["Sequence": ["id": name, "type_id": type]] }
        return [
            "type": "TemplateProcessing",
            "single": [special(AddedToken.cls, 0), sequence("A", 0), special(AddedToken.sep, 0)],
            "pair": [special(AddedToken.cls, 0), sequence("A", 0), special(AddedToken.sep, 0), sequence("B", 1), special(AddedToken.sep, 1)],
            "special_tokens": [
                AddedToken.cls: ["id": AddedToken.cls, "ids": [Int(cls)], "tokens": [AddedToken.cls]],
                AddedToken.sep: ["id": AddedToken.sep, "ids": [Int(sep)], "tokens": [AddedToken.sep]],
            ],
        ]
    }
}
