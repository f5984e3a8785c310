import ArgumentParser
import DataPipeline
import Foundation

/// `pretrain data prepare`: train or load a tokenizer and write llm.c-format token shards.
struct DataPrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Train (or load) a byte-level BPE or WordPiece tokenizer and write train/val token shards.",
        discussion: """
        Writes DIR/tokenizer.json (Hugging Face format), DIR/train_NNNNNN.bin and DIR/val_NNNNNN.bin \
        (llm.c's format: 1024-byte header of 256 int32 — magic 20240520, version 1 for uint16 tokens or \
        2 for uint32 when the vocabulary exceeds 65,535, token count — then the tokens; <|endoftext|> \
        before every document, [SEP] with --tokenizer-model wordpiece) and DIR/prepare.json, written last. Running again with the same \
        arguments over unchanged files does nothing (pass --force to redo).

        Example (the default corpus, Debian's fortunes, as `make pretrain` runs it):
          pretrain data prepare --input /usr/share/games/fortunes --document-separator % --vocab-size 4096 --out data/fortunes
        """.helpParagraphs)

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Text, .jsonl/.json, .csv/.tsv or .parquet files (any but Parquet may be .gz/.zst), or directories of them (walked recursively; other binary files, symlinks and hidden files skipped).", valueName: "path"))
    var input: [String] = []

    @Option(name: .long, help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String

    @OptionGroup var tokenizerChoice: TokenizerChoice

    @Option(name: .long, help: ArgumentHelp("Share of documents held out for validation (evenly spread).", valueName: "f"))
    var valFraction: Double = 0.05

    @Option(name: .long, help: ArgumentHelp("Tokens per shard file.", valueName: "n"))
    var shardTokens: Int = 100_000_000

    @Option(name: .long, help: ArgumentHelp("A line that separates documents inside a file ('%' for fortune files, '' for blank lines); default: one document per file.", valueName: "line"))
    var documentSeparator: String?

    @Option(name: .long, help: ArgumentHelp("The JSON field or CSV/TSV/Parquet column holding the text.", valueName: "name"))
    var textField: String = "text"

    @Flag(name: .long, help: "Skip JSON lines that are not JSON or lack the text field (they are counted) instead of stopping.")
    var skipBadLines = false

    @Flag(name: .long, help: "Each line of a text file is one document.")
    var lineDocuments = false

    @Option(name: .long, help: ArgumentHelp("Tokenizer model to train or load: bpe (byte-level, GPT) or wordpiece (BERT).", valueName: "model"))
    var tokenizerModel: String = "bpe"

    @Option(name: .long, help: ArgumentHelp("Tokenizer training: merge only pairs seen at least this often.", valueName: "n"))
    var minFrequency: Int = 2

    @Option(name: .long, help: ArgumentHelp("Threads for counting and encoding (default: all cores).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Reserve T5's sentinels <extra_id_0>… in the trained tokenizer (span corruption).", valueName: "n"))
    var extraIds = 0

    @Flag(name: .long, help: "Prepare again even when the directory is up to date.")
    var force = false

    @Flag(name: .long, help: "No progress bars.")
    var quiet = false

    func run() throws {
        var settings = PrepareSettings(
            inputs: input, outputDirectory: out, vocabularySize: tokenizerChoice.vocabSize, tokenizerPath: tokenizerChoice.tokenizer,
            valFraction: valFraction, shardTokens: shardTokens, documentSeparator: documentSeparator,
            minFrequency: minFrequency)
        settings.textField = textField == "text" ? nil : textField
        settings.skipBadLines = skipBadLines ? true : nil
        settings.lineDocuments = lineDocuments ? true : nil
        settings.tokenizerModel = tokenizerModel == "bpe" ? nil : tokenizerModel
        settings.extraIds = extraIds == 0 ? nil : extraIds
        let threadCount = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let start = Date()
        let result = try DataPreparer(settings: settings, threads: threadCount, showProgress: !quiet, force: force).run()
        let m = result.manifest
        let trainShards = m.outputs.keys.filter { $0.hasPrefix("train_") }.count
        let valShards = m.outputs.keys.filter { $0.hasPrefix("val_") }.count
        let width = m.wideTokens ? "uint32, version 2" : "uint16, version 1"
        if result.upToDate {
            print("\(out) is up to date: \(m.trainTokens) train + \(m.valTokens) val tokens, vocabulary \(m.vocabularySize) (pass --force to prepare again)")
            return
        }
        print("wrote \(out)/tokenizer.json: vocabulary \(m.vocabularySize)")
        print("wrote \(trainShards) train shard(s), \(m.trainTokens) tokens; \(valShards) val shard(s), \(m.valTokens) tokens (\(width))")
        print(String(format: "%d documents (%d val) from %d files in %.1f s", m.documents, m.valDocuments, m.inputs.count, Date().timeIntervalSince(start)))
        if let skipped = m.skippedLines {
            print("skipped \(skipped) bad JSON line\(skipped == 1 ? "" : "s") (--skip-bad-lines)")
        }
        if m.valTokens == 0, valFraction > 0 {
            FileHandle.standardError.write(Foundation.Data("warning: no document went to the val split (only \(m.documents) documents); pass --document-separator to split files into documents\n".utf8))
        }
    }
}
