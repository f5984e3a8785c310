/// What `pretrain data prepare` was asked to do; the cache key of a prepared directory.
///
/// Two runs with equal settings over unchanged input files give byte-identical outputs, so a
/// directory whose manifest records the same settings and input fingerprints is reused as is.
/// The thread count is not a setting: it changes speed, never the output.
public struct PrepareSettings: Codable, Equatable, Sendable {
    /// Text files or directories, in the order given.
    public var inputs: [String]
    /// Where `tokenizer.json`, the shards and `prepare.json` go.
    public var outputDirectory: String
    /// Train a tokenizer of this many tokens (BPE: 256 bytes + merges + 5 special tokens;
    /// WordPiece: 5 special tokens + alphabet + merges)…
    public var vocabularySize: Int?
    /// …or load this `tokenizer.json` (or GPT-2 `vocab.json` with `merges.txt` beside it).
    public var tokenizerPath: String?
    /// Share of documents held out for validation (every ⌈1/f⌉-th document, spread evenly).
    public var valFraction: Double
    /// Tokens per shard file (llm.c uses 100 M).
    public var shardTokens: Int
    /// A line that separates documents inside a file (`%` for fortune files, "" for blank
    /// lines); nil makes each file one document.
    public var documentSeparator: String?
    /// Tokenizer training: a pair must occur this often to be merged.
    public var minFrequency: Int
    /// The JSON field or CSV/Parquet column holding the text (nil: `text`).
    public var textField: String?
    /// Skip (and count) JSON lines that are not JSON or lack the field, instead of stopping.
    public var skipBadLines: Bool?
    /// Each line of a text file is one document.
    public var lineDocuments: Bool?
    /// The tokenizer model to train or load: nil or `bpe` (byte-level BPE), or `wordpiece`.
    public var tokenizerModel: String?

    /// The text field, defaulted.
    public var field: String { textField ?? "text" }
    /// Whether a WordPiece tokenizer is trained or loaded.
    public var isWordPiece: Bool { tokenizerModel == "wordpiece" }

    /// Settings with llm.c-like defaults: 5% validation, 100 M tokens per shard.
    public init(inputs: [String], outputDirectory: String, vocabularySize: Int? = nil, tokenizerPath: String? = nil,
                valFraction: Double = 0.05, shardTokens: Int = 100_000_000, documentSeparator: String? = nil,
                minFrequency: Int = 2)
    {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        self.vocabularySize = vocabularySize
        self.tokenizerPath = tokenizerPath
        self.valFraction = valFraction
        self.shardTokens = shardTokens
        self.documentSeparator = documentSeparator
        self.minFrequency = minFrequency
    }

    /// Throws for contradictory or out-of-range settings, naming the flag to fix.
    public func validate() throws {
        if inputs.isEmpty { throw DataError.noInput }
        switch (vocabularySize, tokenizerPath) {
        case (nil, nil):
            throw DataError.invalidSetting(name: "--vocab-size/--tokenizer", problem: "pass --vocab-size N to train a tokenizer, or --tokenizer FILE to use an existing one")
        case (.some, .some):
            throw DataError.invalidSetting(name: "--vocab-size/--tokenizer", problem: "pass only one: --vocab-size trains a new tokenizer, --tokenizer loads one")
        case let (.some(size), nil):
            let minimum = 256 + AddedToken.defaultSpecials.count
            if size < minimum { throw DataError.vocabularyTooSmall(requested: size, minimum: minimum) }
        default:
            break
        }
        guard valFraction >= 0, valFraction <= 0.5 else {
            throw DataError.invalidSetting(name: "--val-fraction", problem: "must be between 0 and 0.5, got \(valFraction)")
        }
        guard shardTokens >= 1024 else {
            throw DataError.invalidSetting(name: "--shard-tokens", problem: "must be at least 1024, got \(shardTokens)")
        }
        guard minFrequency >= 1 else {
            throw DataError.invalidSetting(name: "--min-frequency", problem: "must be at least 1, got \(minFrequency)")
        }
        if let model = tokenizerModel, model != "bpe", model != "wordpiece" {
            throw DataError.invalidSetting(name: "--tokenizer-model", problem: "\(model) is not a tokenizer model; pass bpe (byte-level BPE, the default) or wordpiece (BERT)")
        }
        if let field = textField, field.isEmpty {
            throw DataError.invalidSetting(name: "--text-field", problem: "pass the name of the field or column holding the text, e.g. --text-field text")
        }
        guard !outputDirectory.isEmpty else {
            throw DataError.invalidSetting(name: "--out", problem: "pass the output directory, e.g. --out data/fortunes")
        }
    }

    /// Whether document `index` (in corpus order) belongs to the validation split.
    public func isValidation(document index: Int) -> Bool {
        guard valFraction > 0 else { return false }
        return (Double(index + 1) * valFraction).rounded(.down) > (Double(index) * valFraction).rounded(.down)
    }
}
