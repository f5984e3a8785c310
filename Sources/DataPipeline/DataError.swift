import Support

/// A user-facing data error: one line that names the file (or setting) at fault and how to fix it.
///
/// Every error the Data module throws for bad input is one of these; the CLI prints `description`
/// as a single line and exits with status 2.
public enum DataError: UserFacingError, CustomStringConvertible, Equatable {
    /// The one-line message (`description`).
    public var message: String { description }
    /// Status 2: the input (a path, a file's content, a setting) is what needs fixing.
    public var exitCode: Int32 { 2 }

    /// No `--input` paths were given at all.
    case noInput
    /// An input path does not exist.
    case inputMissing(path: String)
    /// An input file or directory holds no text (empty, binary, or only symlinks/hidden files).
    case noText(path: String)
    /// A shard's file size does not match the token count in its header.
    case shardSizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)
    /// A shard's header gives a negative token count (word 2 read as llm.c's int32).
    case negativeTokenCount(path: String, count: Int32)
    /// A shard's header does not start with a known magic number.
    case badMagic(path: String, found: Int32)
    /// A shard's header has a version this build cannot read.
    case unsupportedShardVersion(path: String, version: Int32)
    /// A tokenizer file's model is not BPE.
    case notBPE(path: String, modelType: String)
    /// A tokenizer file uses a feature this tokenizer does not implement.
    case unsupportedTokenizer(path: String, feature: String)
    /// A tokenizer lacks special tokens the run needs (BERT: [CLS], [SEP], [MASK], [PAD]).
    case missingSpecialTokens(path: String, missing: [String])
    /// The tokenizer lacks what T5's span corruption needs (padding, end of sequence, sentinels).
    case missingT5Tokens(path: String, missing: [String])
    /// A tokenizer file cannot be parsed or is internally inconsistent.
    case malformedTokenizer(path: String, problem: String)
    /// The requested vocabulary is too small to hold the 256 bytes plus the special tokens.
    case vocabularyTooSmall(requested: Int, minimum: Int)
    /// A tokenizer's vocabulary does not fit the model's embedding table.
    case vocabularyTooLarge(path: String, tokenizerSize: Int, modelSize: Int)
    /// A shard holds a token id the model's vocabulary cannot embed.
    case tokenOutOfRange(path: String, token: Int, modelSize: Int)
    /// No shard files were found for a split.
    case noShards(pattern: String)
    /// The shards together are too short for even one sequence.
    case shardsTooShort(pattern: String, tokens: Int, sequenceLength: Int)
    /// A saved loader position does not belong to this data or these settings.
    case positionMismatch(problem: String)
    /// A setting is out of range.
    case invalidSetting(name: String, problem: String)
    /// The operating system refused a read or write.
    case io(path: String, problem: String)
    /// A JSON line that is not JSON or lacks the text field (line counts from 1).
    case badLine(path: String, line: Int, problem: String)
    /// A CSV/TSV file or Parquet file without the named text column.
    case missingColumn(path: String, column: String, available: [String])
    /// A Parquet file that is truncated, encrypted or uses what this reader does not support.
    case badParquet(path: String, problem: String)
    /// A compression library call failed on a file's bytes (the call and its code are named).
    case decompression(path: String, call: String, code: Int)

    /// The one-line message: the file or flag at fault, what is wrong, and the fix.
    public var description: String {
        switch self {
        case .noInput:
            return "no input given; pass --input PATH (a text file or a directory of text files)"
        case let .inputMissing(path):
            return "\(path): no such file or directory; fix the --input path"
        case let .noText(path):
            return "\(path): no text found (empty files, binary files such as .dat indexes, symlinks and hidden files are skipped); point --input at plain-text files"
        case let .shardSizeMismatch(path, expected, actual):
            return "\(path): file is \(actual) bytes but its header promises \(expected); the shard is truncated or corrupt, delete it and run `pretrain data prepare` again"
        case let .negativeTokenCount(path, count):
            return "\(path): its header gives a negative token count (\(count)); the shard is corrupt, delete it and run `pretrain data prepare` again"
        case let .badMagic(path, found):
            return "\(path): not a token shard (magic \(found), expected 20240520); pass shards written by `pretrain data prepare` or llm.c's data scripts"
        case let .unsupportedShardVersion(path, version):
            return "\(path): shard version \(version) is not supported (1 = uint16 tokens, 2 = uint32 tokens); re-create it with `pretrain data prepare`"
        case let .notBPE(path, type):
            return "\(path): tokenizer model is \(type), not BPE; pass a byte-level BPE tokenizer.json (GPT-2 style), train one with --vocab-size, or for WordPiece give `pretrain data prepare` --tokenizer-model wordpiece"
        case let .unsupportedTokenizer(path, feature):
            return "\(path): unsupported tokenizer feature: \(feature); use a byte-level BPE (GPT-2), WordPiece (BERT) or Unigram (T5) tokenizer.json without it, or train one with --vocab-size instead"
        case let .missingSpecialTokens(path, missing):
            return "\(path): tokenizer has no \(missing.joined(separator: ", ")) special token\(missing.count == 1 ? "" : "s"), which a BERT (masked-LM) run needs; prepare the data with --vocab-size N (trained tokenizers reserve [PAD] [MASK] [CLS] [SEP]) or add them to the tokenizer's added_tokens"
        case let .missingT5Tokens(path, missing):
            return "\(path): tokenizer has no \(missing.joined(separator: ", ")), which T5 span corruption needs; prepare the data with --vocab-size N --extra-ids 100 (or use a T5 tokenizer.json)"
        case let .malformedTokenizer(path, problem):
            return "\(path): malformed tokenizer: \(problem); re-save it with the Python tokenizers library or train one with --vocab-size"
        case let .vocabularyTooSmall(requested, minimum):
            return "--vocab-size \(requested) is too small: the 256 byte tokens plus the special tokens need at least \(minimum); pass --vocab-size \(minimum) or more"
        case let .vocabularyTooLarge(path, tokenizerSize, modelSize):
            return "\(path): tokenizer has \(tokenizerSize) tokens but the model's vocab_size is \(modelSize); set vocab_size to at least \(tokenizerSize) or prepare the data with --vocab-size \(modelSize)"
        case let .tokenOutOfRange(path, token, modelSize):
            return "\(path): token id \(token) does not fit the model's vocab_size \(modelSize); raise vocab_size or re-prepare the data with a smaller --vocab-size"
        case let .noShards(pattern):
            return "\(pattern): no token shards found; run `pretrain data prepare --out DIR` first or fix the data path"
        case let .shardsTooShort(pattern, tokens, sequenceLength):
            return "\(pattern): shards hold \(tokens) tokens, fewer than one sequence of \(sequenceLength + 1); lower the sequence length or prepare more text"
        case let .positionMismatch(problem):
            return "saved data-loader position does not match: \(problem); resume with the same data and loader settings, or start a fresh run"
        case let .invalidSetting(name, problem):
            return "\(name): \(problem)"
        case let .io(path, problem):
            return "\(path): \(problem); check the path and its permissions"
        case let .badLine(path, line, problem):
            return "\(path):\(line): \(problem); fix the line or pass --skip-bad-lines to skip such lines (they are counted)"
        case let .missingColumn(path, column, available):
            let shown = available.prefix(12).joined(separator: ", ") + (available.count > 12 ? ", …" : "")
            return "\(path): no column \"\(column)\" (columns: \(shown)); pass --text-field with one of them"
        case let .badParquet(path, problem):
            return "\(path): cannot read this Parquet file: \(problem); rewrite it with pyarrow (pq.write_table) using PLAIN or dictionary encoding and no encryption"
        case let .decompression(path, call, code):
            return "\(path): \(call) failed with code \(code): the compressed data is corrupt or truncated; fetch or compress the file again"
        }
    }
}
