#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The input files of `pretrain data prepare --input …`, split into documents and work units.
///
/// Files are read by `CorpusFormat`: plain text; JSON lines and CSV/TSV (one document per record,
/// the `textField` field or column); Parquet (the `textField` column, null values skipped); any
/// of these gzip- or zstd-compressed (`.gz`, `.zst`). Inputs may be files or directories. Directories are walked recursively in sorted order,
/// skipping hidden entries, symlinks (so Debian fortunes' `.u8` links are not read twice), empty
/// files and binary files (a NUL byte in the first 4 KiB: fortunes' `.dat` indexes) unless their
/// name says they are compressed or Parquet. A file named directly is read even through a
/// symlink. Documents of a text file: the whole file, each line (`lineDocuments`), or, with a
/// separator line, the text between lines equal to it (`%` for fortune files; an empty separator
/// means blank lines). Whitespace-only documents are dropped. Documents longer than `unitBytes` are cut into
/// units at a newline followed by a non-space byte, where GPT-2's split always has a boundary,
/// so encoding the units one by one gives the same tokens as encoding the whole document.
public struct TextCorpus {
    /// One encodable piece of text: a document or part of one.
    public struct Unit {
        /// The bytes (valid while the corpus's files are mapped, i.e. inside `forEachBatch`).
        public var bytes: UnsafeBufferPointer<UInt8>
        /// The document's index in corpus order (documents count from 0 over all files).
        public var document: Int
        /// Whether this unit starts its document (`<|endoftext|>` goes before it).
        public var startsDocument: Bool
    }

    /// The text files, in the order they are read.
    public let files: [String]
    /// Their total size in bytes.
    public let totalBytes: Int
    /// The line that separates documents within a file (nil: each file is one document).
    public let documentSeparator: String?
    /// Longest unit in bytes.
    public let unitBytes: Int
    /// The JSON field or CSV/Parquet column that holds the text.
    public let textField: String
    /// Whether bad JSON lines are skipped (and counted in `skippedLines`) rather than fatal.
    public let skipBadLines: Bool
    /// Whether each line of a text file is a document.
    public let lineDocuments: Bool
    private let skipped = Counter()

    /// Bad JSON lines skipped so far by `forEachBatch` calls.
    public var skippedLines: Int { skipped.value }

    private final class Counter {
        var value = 0
    }

    /// Finds the input files under `inputs`; throws for a missing path or no text at all.
    public init(inputs: [String], documentSeparator: String? = nil, unitBytes: Int = 1 << 20, textField: String = "text",
                skipBadLines: Bool = false, lineDocuments: Bool = false) throws
    {
        guard !inputs.isEmpty else { throw DataError.noInput }
        var found: [String] = []
        for input in inputs {
            guard !input.isEmpty else { throw DataError.noInput }
            let kind = FileIO.kind(input)
            guard kind.exists else { throw DataError.inputMissing(path: input) }
            let before = found.count
            if kind.isDirectory {
                try Self.walk(input.hasSuffix("/") ? String(input.dropLast()) : input, into: &found)
            } else if try Self.isReadable(input) {
                found.append(input)
            }
            if found.count == before { throw DataError.noText(path: input) }
        }
        files = found
        totalBytes = found.reduce(0) { $0 + Self.size($1) }
        self.documentSeparator = documentSeparator
        self.unitBytes = max(unitBytes, 64)
        self.textField = textField
        self.skipBadLines = skipBadLines
        self.lineDocuments = lineDocuments
    }

    /// Calls `body` with batches of consecutive units of about `batchBytes` bytes, in corpus order.
    public func forEachBatch(batchBytes: Int, _ body: ([Unit]) throws -> Void) throws {
        try forEachBatch(batchBytes: batchBytes) { units, _ in try body(units) }
    }

    /// The same, also passing how many input-file bytes are behind the batch (for progress bars).
    public func forEachBatch(batchBytes: Int, _ body: ([Unit], Int) throws -> Void) throws {
        var batch: [Unit] = []
        var batchSize = 0
        var held: [AnyObject] = []  // keeps the storage of every unit of the pending batch alive
        var document = 0
        var filesDone = 0
        var done = 0
        func add(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ owner: AnyObject, progress: Bool) throws {
            var start = range.lowerBound
            var first = true
            while start < range.upperBound {
                let end = unitEnd(bytes, start, range.upperBound)
                batch.append(Unit(bytes: UnsafeBufferPointer(rebasing: bytes[start..<end]), document: document, startsDocument: first))
                batchSize += end - start
                first = false
                start = end
                if progress { done = filesDone + end }
                if batchSize >= batchBytes {
                    try withExtendedLifetime(held) { try body(batch, done) }
                    batch.removeAll(keepingCapacity: true)
                    batchSize = 0
                    held = [owner]
                }
            }
            document += 1
        }
        for path in files {
            if CorpusFormat(path: path) == .text, ChunkReader.Compression(path: path) == .none {
                let file = try MappedFile(path: path)
                held.append(file)
                for range in documentRanges(file.bytes) { try add(file.bytes, range, file, progress: true) }
            } else {
                try forEachDocument(path) { owned in
                    held.append(owned)
                    try add(owned.bytes, 0..<owned.bytes.count, owned, progress: false)
                }
            }
            filesDone += Self.size(path)
            done = filesDone
        }
        if !batch.isEmpty { try withExtendedLifetime(held) { try body(batch, done) } }
    }

    /// Bytes owned by a unit batch (documents decoded from structured or compressed files).
    final class OwnedBytes {
        let bytes: UnsafeBufferPointer<UInt8>
        init(_ source: UnsafeBufferPointer<UInt8>) {
            let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(source.count, 1))
            if let base = source.baseAddress { copy.baseAddress!.initialize(from: base, count: source.count) }
            bytes = UnsafeBufferPointer(start: copy.baseAddress, count: source.count)
        }
        deinit { UnsafeMutableRawPointer(mutating: bytes.baseAddress!).deallocate() }
    }

    /// Calls `body` with each non-blank document of a compressed or structured file.
    private func forEachDocument(_ path: String, _ body: (OwnedBytes) throws -> Void) throws {
        func emit(_ bytes: UnsafeBufferPointer<UInt8>) throws {
            if bytes.contains(where: { !($0 == 0x20 || (0x09...0x0D).contains($0)) }) { try body(OwnedBytes(bytes)) }
        }
        switch CorpusFormat(path: path) {
        case .text where !lineDocuments && documentSeparator == nil:
            // One document per file: it has to be whole in memory anyway.
            let all = try ChunkReader(path: path).readAll()
            try all.withUnsafeBufferPointer { try emit($0) }
        case .text:
            // Streamed line by line, with the same documents as `documentRanges` gives.
            let separator = documentSeparator.map { Array($0.utf8) }
            var document: [UInt8] = []
            func line(_ bytes: ArraySlice<UInt8>) throws {  // one line, with its "\n" when it has one
                let hasNewline = bytes.last == 0x0A
                if lineDocuments {
                    try bytes.dropLast(hasNewline ? 1 : 0).withUnsafeBufferPointer { try emit($0) }
                    return
                }
                var content = bytes.dropLast(hasNewline ? 1 : 0)
                if content.last == 0x0D { content = content.dropLast() }
                let isSeparator = separator!.isEmpty ? content.allSatisfy { $0 == 0x20 || $0 == 0x09 } : content.elementsEqual(separator!)
                if isSeparator {
                    try document.withUnsafeBufferPointer { try emit($0) }
                    document.removeAll(keepingCapacity: true)
                } else {
                    document += bytes
                }
            }
            let reader = try ChunkReader(path: path)
            var carry: [UInt8] = []
            while let chunk = try reader.next() {
                carry += chunk
                var start = 0
                while let newline = carry[start...].firstIndex(of: 0x0A) {
                    try line(carry[start...newline])
                    start = newline + 1
                }
                carry.removeSubrange(0..<start)
            }
            if !carry.isEmpty { try line(carry[...]) }
            try document.withUnsafeBufferPointer { try emit($0) }
        case .jsonLines:
            skipped.value += try JSONLinesReader(path: path, field: textField, skipBadLines: skipBadLines).read { text in
                try text.withUnsafeBufferPointer { try emit($0) }
            }
        case .csv, .tsv:
            let delimiter = CorpusFormat(path: path) == .csv ? UInt8(ascii: ",") : UInt8(ascii: "\t")
            try CSVReader(path: path, column: textField, delimiter: delimiter).read { field in
                try field.withUnsafeBufferPointer { try emit($0) }
            }
        case .parquet:
            guard ChunkReader.Compression(path: path) == .none else {
                throw DataError.badParquet(path: path, problem: "a compressed Parquet file; Parquet compresses its pages itself, decompress the file")
            }
            try ParquetFile(path: path).forEachValue(column: textField) { try emit($0) }
        }
    }

    /// Ranges of the non-blank documents of one file.
    func documentRanges(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        func keep(_ range: Range<Int>) {
            if bytes[range].contains(where: { !($0 == 0x20 || (0x09...0x0D).contains($0)) }) { ranges.append(range) }
        }
        if lineDocuments {
            var start = 0
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                keep(start..<i)
                start = i + 1
            }
            keep(start..<bytes.count)
            return ranges
        }
        guard let separator = documentSeparator.map({ Array($0.utf8) }) else {
            keep(0..<bytes.count)
            return ranges
        }
        var documentStart = 0
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var content = lineStart..<lineEnd
            if content.count > 0, bytes[content.upperBound - 1] == 0x0D { content = lineStart..<(lineEnd - 1) }
            let isSeparator = separator.isEmpty
                ? bytes[content].allSatisfy { $0 == 0x20 || $0 == 0x09 }
                : content.count == separator.count && bytes[content].elementsEqual(separator)
            let next = min(lineEnd + 1, bytes.count)
            if isSeparator {
                keep(documentStart..<lineStart)
                documentStart = next
            }
            lineStart = next
        }
        keep(documentStart..<bytes.count)
        return ranges
    }

    /// Where the unit starting at `start` ends: at most `unitBytes` on, just after a newline that
    /// a non-space ASCII byte follows; the document's end when it is near.
    private func unitEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        if end - start <= unitBytes { return end }
        var cut = start + unitBytes
        while cut > start + 1 {
            let after = bytes[cut]
            if bytes[cut - 1] == 0x0A, after > 0x20, after < 0x7F { return cut }
            cut -= 1
        }
        // No safe boundary in a whole unit (a megabyte without a line break): cut at a UTF-8
        // scalar boundary; the split there may differ slightly from encoding the whole document.
        cut = start + unitBytes
        while cut > start + 1, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return cut
    }

    private static func walk(_ directory: String, into found: inout [String]) throws {
        guard let handle = opendir(directory) else { throw FileIO.error(directory, "cannot list directory") }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(handle)
        for name in names.sorted() {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: try walk(path, into: &found)
            case S_IFREG: if try isReadable(path) { found.append(path) }
            default: continue  // symlinks, devices, sockets
            }
        }
    }

    /// Whether a file is read: a non-empty compressed or structured file, or a text file.
    static func isReadable(_ path: String) throws -> Bool {
        CorpusFormat.isStructuredOrCompressed(path) ? size(path) > 0 : try isText(path)
    }

    /// Whether a file is non-empty and has no NUL byte in its first 4 KiB.
    static func isText(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileIO.error(path, "cannot open") }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 4096)
        let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        guard n > 0 else { return false }
        return !head[0..<n].contains(0)
    }

    /// The size of a file in bytes (0 when it cannot be read).
    static func size(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}
