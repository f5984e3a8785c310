#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Support

/// `pretrain data prepare`: text files → `tokenizer.json` + train/val token shards + manifest.
///
/// Steps: find the text (`TextCorpus`); unless the manifest shows the same settings over
/// unchanged inputs, train a tokenizer on the train documents (pre-tokens counted on all threads)
/// or load the given one — byte-level BPE, or with `tokenizerModel` `wordpiece` a BERT WordPiece
/// (`WordPieceTrainer`); encode every document on all threads, `<|endoftext|>` (WordPiece:
/// `[SEP]`) before each, and write train and val shards in corpus order. Everything is written into a hidden staging
/// directory first and moved into place at the end, the manifest last, so an interrupted run never
/// leaves a directory that looks complete. Output depends only on the inputs and settings.
public final class DataPreparer {
    /// What to prepare.
    public let settings: PrepareSettings
    /// Threads for counting and encoding.
    public let threads: Int
    /// Whether to draw progress bars on standard error.
    public let showProgress: Bool
    /// Redo the work even when the directory is up to date.
    public let force: Bool

    /// A preparer; nothing happens until `run()`.
    public init(settings: PrepareSettings, threads: Int, showProgress: Bool = true, force: Bool = false) {
        self.settings = settings
        self.threads = max(1, threads)
        self.showProgress = showProgress
        self.force = force
    }

    /// Prepares the directory, or finds it up to date; returns its manifest and which happened.
    public func run() throws -> (manifest: PrepareManifest, upToDate: Bool) {
        try settings.validate()
        let corpus = try TextCorpus(inputs: settings.inputs, documentSeparator: settings.documentSeparator, textField: settings.field,
                                    skipBadLines: settings.skipBadLines ?? false, lineDocuments: settings.lineDocuments ?? false)
        let directory = settings.outputDirectory.hasSuffix("/") && settings.outputDirectory.count > 1
            ? String(settings.outputDirectory.dropLast()) : settings.outputDirectory
        let fingerprints = corpus.files.map { PrepareManifest.Fingerprint(path: $0) }
        let tokenizerSource = settings.tokenizerPath.map { PrepareManifest.Fingerprint(path: $0) }
        let manifestPath = directory + "/" + PrepareManifest.fileName
        if !force, let old = Self.readManifest(manifestPath), old.format == PrepareManifest.currentFormat,
           old.settings == settings, old.inputs == fingerprints, old.tokenizerSource == tokenizerSource,
           old.outputsIntact(in: directory)
        {
            return (old, true)
        }

        try FileIO.makeDirectories(directory)
        Self.removeStaleStaging(in: directory)
        let staging = directory + "/.prepare-staging-\(getpid())"
        try FileIO.makeDirectories(staging)
        defer { Self.removeTree(staging) }

        // The tokenizer (trained or given, saved into staging), the id that separates documents, and
        // a maker of per-thread encoders.
        let vocabularySize: Int
        let separator: Int32
        let makeEncoder: () -> UnitEncoder
        if settings.isWordPiece {
            let tokenizer = try wordPieceTokenizer(corpus, staging: staging)
            guard let sep = tokenizer.id(of: "[SEP]") else {
                throw DataError.missingSpecialTokens(path: tokenizer.sourcePath, missing: ["[SEP]"])
            }
            (vocabularySize, separator) = (tokenizer.vocabularySize, sep)
            makeEncoder = {
                let encoder = HuggingFaceEncoder(tokenizer)
                return { bytes, out in encoder.encodeOrdinary(bytes, into: &out) }
            }
        } else {
            let tokenizer = try settings.tokenizerPath.map { try Tokenizer.load(from: $0) } ?? trainTokenizer(corpus)
            guard let endOfText = tokenizer.endOfText else {
                throw DataError.unsupportedTokenizer(path: tokenizer.sourcePath, feature: "no <|endoftext|> added token (documents are separated by it); add it as a special token")
            }
            try tokenizer.save(to: staging + "/tokenizer.json")
            (vocabularySize, separator) = (tokenizer.vocabularySize, endOfText)
            makeEncoder = {
                let encoder = tokenizer.makeEncoder()
                return { bytes, out in encoder.encodeOrdinary(bytes, into: &out) }
            }
        }
        let wide = vocabularySize > 65_536
        let train = try ShardWriter(directory: staging, prefix: "train", shardTokens: settings.shardTokens, wideTokens: wide)
        let val = try ShardWriter(directory: staging, prefix: "val", shardTokens: settings.shardTokens, wideTokens: wide)
        let skippedBefore = corpus.skippedLines  // bad lines are met by every pass; count those of the encoding pass
        let counts = try encode(corpus, separator: separator, train: train, val: val, makeEncoder: makeEncoder)
        let skipped = corpus.skippedLines - skippedBefore
        try train.finish()
        try val.finish()

        var outputs: [String: Int] = [:]
        for path in [staging + "/tokenizer.json"] + train.completed + val.completed {
            outputs[(path as NSString).lastPathComponent] = PrepareManifest.Fingerprint(path: path).bytes
        }
        let manifest = PrepareManifest(
            format: PrepareManifest.currentFormat, settings: settings, inputs: fingerprints, tokenizerSource: tokenizerSource,
            outputs: outputs, trainTokens: train.totalTokens, valTokens: val.totalTokens, documents: counts.documents,
            valDocuments: counts.valDocuments, vocabularySize: vocabularySize, wideTokens: wide,
            skippedLines: skipped > 0 ? skipped : nil)
        try commit(manifest, from: staging, to: directory)
        return (manifest, false)
    }

    /// Counts pre-tokens of the train documents on all threads, then learns the merges.
    private func trainTokenizer(_ corpus: TextCorpus) throws -> Tokenizer {
        let trainer = try BPETrainer(vocabularySize: settings.vocabularySize!, minFrequency: Int64(settings.minFrequency), threads: threads)
        let counters = (0..<threads).map { _ in WordCounter() }
        let bar = ProgressBar(label: "count", total: corpus.totalBytes, enabled: showProgress)
        try corpus.forEachBatch(batchBytes: (4 << 20) * threads) { batch, done in
            let units = batch.filter { !settings.isValidation(document: $0.document) }
            let bounds = Parallel.balancedBounds(weights: units.map(\.bytes.count), parts: threads)
            Parallel.run(threads) { worker in
                for unit in units[bounds[worker]..<bounds[worker + 1]] { counters[worker].add(unit.bytes) }
            }
            bar.update(done)
        }
        for other in counters.dropFirst() { counters[0].merge(other) }
        bar.finish("\(counters[0].uniqueWords) distinct pre-tokens")
        let merges = trainer.vocabularySize - 256 - trainer.specialTokens.count
        let mergeBar = ProgressBar(label: "merges", total: merges, unit: "merges", enabled: showProgress)
        let tokenizer = try trainer.train(counts: counters[0]) { mergeBar.update($0) }
        mergeBar.finish(String(format: "vocabulary %d in %.2f s", tokenizer.vocabularySize, mergeBar.elapsed))
        return tokenizer
    }

    /// Loads the given WordPiece tokenizer.json, or counts the train documents' words on all
    /// threads and trains one; either way writes it to `staging/tokenizer.json`.
    private func wordPieceTokenizer(_ corpus: TextCorpus, staging: String) throws -> HuggingFaceTokenizer {
        let path = staging + "/tokenizer.json"
        if let source = settings.tokenizerPath {
            let tokenizer = try HuggingFaceTokenizer.load(from: source)
            guard tokenizer.modelType == "WordPiece" else {
                throw DataError.invalidSetting(name: "--tokenizer-model wordpiece", problem: "\(source) is a \(tokenizer.modelType) tokenizer; pass a WordPiece tokenizer.json or drop --tokenizer-model")
            }
            try FileIO.writeAtomically(try FileIO.readAll(source), to: path)
            return tokenizer
        }
        var counts = [[String: Int64]](repeating: [:], count: threads)
        let bar = ProgressBar(label: "count", total: corpus.totalBytes, enabled: showProgress)
        try corpus.forEachBatch(batchBytes: (4 << 20) * threads) { batch, done in
            let units = batch.filter { !settings.isValidation(document: $0.document) }
            let bounds = Parallel.balancedBounds(weights: units.map(\.bytes.count), parts: threads)
            counts.withUnsafeMutableBufferPointer { counts in
                Parallel.run(threads) { worker in
                    for unit in units[bounds[worker]..<bounds[worker + 1]] {
                        WordPieceTrainer.addWords(of: String(decoding: unit.bytes, as: UTF8.self), to: &counts[worker])
                    }
                }
            }
            bar.update(done)
        }
        var words = counts[0]
        for other in counts.dropFirst() { words.merge(other, uniquingKeysWith: +) }
        bar.finish("\(words.count) distinct words")
        let trainer = WordPieceTrainer(vocabularySize: settings.vocabularySize!, minFrequency: Int64(settings.minFrequency))
        let mergeBar = ProgressBar(label: "merges", total: trainer.vocabularySize, unit: "merges", enabled: showProgress)
        let vocabulary = trainer.train(wordCounts: words) { mergeBar.update($0) }
        mergeBar.finish("vocabulary \(vocabulary.count)")
        try FileIO.writeAtomically(Array(BertTokenizerFile.jsonText(vocabulary: vocabulary).utf8), to: path)
        return try HuggingFaceTokenizer.load(from: path)
    }

    /// Appends the ids of one unit's bytes; one per thread.
    typealias UnitEncoder = (UnsafeBufferPointer<UInt8>, inout [Int32]) -> Void

    /// Per-thread encoder and output of one batch.
    private final class Worker {
        let encode: UnitEncoder
        var tokens: [Int32] = []
        var ends: [Int] = []
        init(_ encode: @escaping UnitEncoder) { self.encode = encode }
    }

    /// Encodes every unit on all threads (`separator` before each document) and appends the
    /// tokens to the split's writer in order.
    private func encode(_ corpus: TextCorpus, separator: Int32, train: ShardWriter, val: ShardWriter,
                        makeEncoder: () -> UnitEncoder) throws -> (documents: Int, valDocuments: Int)
    {
        let workers = (0..<threads).map { _ in Worker(makeEncoder()) }
        let bar = ProgressBar(label: "encode", total: corpus.totalBytes, enabled: showProgress)
        var documents = 0
        var valDocuments = 0
        try corpus.forEachBatch(batchBytes: (2 << 20) * threads) { units, done in
            let bounds = Parallel.balancedBounds(weights: units.map(\.bytes.count), parts: threads)
            Parallel.run(threads) { w in
                let worker = workers[w]
                worker.tokens.removeAll(keepingCapacity: true)
                worker.ends.removeAll(keepingCapacity: true)
                for unit in units[bounds[w]..<bounds[w + 1]] {
                    if unit.startsDocument { worker.tokens.append(separator) }
                    worker.encode(unit.bytes, &worker.tokens)
                    worker.ends.append(worker.tokens.count)
                }
            }
            for (w, worker) in workers.enumerated() {
                try worker.tokens.withUnsafeBufferPointer { tokens in
                    var start = 0
                    for (k, unit) in units[bounds[w]..<bounds[w + 1]].enumerated() {
                        let end = worker.ends[k]
                        let isVal = settings.isValidation(document: unit.document)
                        if unit.startsDocument {
                            documents += 1
                            if isVal { valDocuments += 1 }
                        }
                        try (isVal ? val : train).append(UnsafeBufferPointer(rebasing: tokens[start..<end]))
                        start = end
                    }
                }
            }
            bar.update(done)
        }
        bar.finish("\(train.totalTokens + val.totalTokens) tokens")
        return (documents, valDocuments)
    }

    /// Replaces the old outputs with the staged ones and writes the manifest last.
    private func commit(_ manifest: PrepareManifest, from staging: String, to directory: String) throws {
        let manifestPath = directory + "/" + PrepareManifest.fileName
        unlink(manifestPath)  // from here until the new manifest lands, the directory reads as incomplete
        for name in Self.listNames(directory) where name == "tokenizer.json" || Self.isShardName(name) {
            unlink(directory + "/" + name)
        }
        for name in manifest.outputs.keys.sorted() {
            try FileIO.move(staging + "/" + name, to: directory + "/" + name)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let bytes = try encoder.encode(manifest)
        try FileIO.writeAtomically([UInt8](bytes) + [0x0A], to: manifestPath)
    }

    /// Reads a manifest, or nil when it is missing or unreadable.
    static func readManifest(_ path: String) -> PrepareManifest? {
        guard let bytes = try? FileIO.readAll(path) else { return nil }
        return try? JSONDecoder().decode(PrepareManifest.self, from: Foundation.Data(bytes))
    }

    /// Whether a file name is one of this tool's shard names (`train_000000.bin`, `val_000003.bin`).
    static func isShardName(_ name: String) -> Bool {
        (name.hasPrefix("train_") || name.hasPrefix("val_")) && name.hasSuffix(".bin")
    }

    private static func listNames(_ directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    private static func removeStaleStaging(in directory: String) {
        for name in listNames(directory) where name.hasPrefix(".prepare-staging-") {
            removeTree(directory + "/" + name)
        }
    }

    private static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
