/// The `tokenizer.json` of a BERT (uncased) WordPiece tokenizer, as the Python library writes it
/// for `bert-base-uncased`: the five special tokens as added tokens, BertNormalizer,
/// BertPreTokenizer, `[CLS] $A [SEP]` / `[CLS] $A [SEP] $B:1 [SEP]:1` TemplateProcessing, the
/// WordPiece decoder, and the vocabulary in id order (stable bytes for the same vocabulary).
enum BertTokenizerFile {
    /// The file text for `vocabulary` (token text by id), which must hold the BERT specials.
    static func jsonText(vocabulary: [String], specials: [String] = WordPieceTrainer.bertSpecials) -> String {
        let ids = Dictionary(vocabulary.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let cls = ids["[CLS]"] ?? 2, sep = ids["[SEP]"] ?? 3
        let vocab = vocabulary.enumerated().map { "\(JSONText.quote($1)): \($0)" }
        return AddedToken.tokenizerJSONHeader(specials.enumerated().map { AddedToken(id: Int32(ids[$1] ?? $0), content: $1) }) + """
              "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
              "pre_tokenizer": {"type": "BertPreTokenizer"},
              "post_processor": {"type": "TemplateProcessing", \
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}], \
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, \
            {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}], \
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [\(cls)], "tokens": ["[CLS]"]}, \
            "[SEP]": {"id": "[SEP]", "ids": [\(sep)], "tokens": ["[SEP]"]}}},
              "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
              "model": {
                "type": "WordPiece",
                "unk_token": "[UNK]",
                "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {\(JSONText.lines(vocab, indent: 6))
                }
              }
            }

            """
    }
}
