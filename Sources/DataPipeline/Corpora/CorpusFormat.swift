/// How `pretrain data prepare` reads one input file, from its name (after any `.gz`/`.zst`).
///
/// `.jsonl`, `.ndjson` and `.json` are JSON lines (a `.json` file whose text starts with `[` is
/// one JSON array of objects); `.csv` and `.tsv` are RFC 4180 tables with a header;
/// `.parquet` is Apache Parquet; anything else is plain text.
public enum CorpusFormat: String, Sendable {
    case text, jsonLines, csv, tsv, parquet

    /// The format of `path`.
    public init(path: String) {
        let name = ChunkReader.Compression.stripped(path).lowercased()
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { self = .jsonLines }
        else if name.hasSuffix(".csv") { self = .csv }
        else if name.hasSuffix(".tsv") { self = .tsv }
        else if name.hasSuffix(".parquet") { self = .parquet }
        else { self = .text }
    }

    /// Whether a file of this name is read by format rather than sniffed as text (compressed
    /// and Parquet files are binary; they are never skipped as such).
    static func isStructuredOrCompressed(_ path: String) -> Bool {
        CorpusFormat(path: path) != .text || ChunkReader.Compression(path: path) != .none
    }
}
