#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text files of `pretrain data prepare --input …`, split into documents and work units.
///
/// Inputs may be files or directories. Directories are walked recursively in sorted order,
/// skipping hidden entries, symlinks (so Debian fortunes' `.u8` links are not read twice), empty
/// files and binary files (a NUL byte in the first 4 KiB: fortunes' `.dat` indexes). A file named
/// directly is read even through a symlink. Documents: a whole file, or, with a separator line,
/// the text between lines equal to it (`%` for fortune files; an empty separator means blank
/// lines). Whitespace-only documents are dropped. Documents longer than `unitBytes` are cut into
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

    /// Finds the text files under `inputs`; throws for a missing path or no text at all.
    public init(inputs: [String], documentSeparator: String? = nil, unitBytes: Int = 1 << 20) throws {
        guard !inputs.isEmpty else { throw DataError.noInput }
        var found: [String] = []
        for input in inputs {
            guard !input.isEmpty else { throw DataError.noInput }
            let kind = FileIO.kind(input)
            guard kind.exists else { throw DataError.inputMissing(path: input) }
            let before = found.count
            if kind.isDirectory {
                try Self.walk(input.hasSuffix("/") ? String(input.dropLast()) : input, into: &found)
            } else if try Self.isText(input) {
                found.append(input)
            }
            if found.count == before { throw DataError.noText(path: input) }
        }
        files = found
        totalBytes = found.reduce(0) { $0 + Self.size($1) }
        self.documentSeparator = documentSeparator
        self.unitBytes = max(unitBytes, 64)
    }

    /// Calls `body` with batches of consecutive units of about `batchBytes` bytes, in corpus order.
    public func forEachBatch(batchBytes: Int, _ body: ([Unit]) throws -> Void) throws {
        var batch: [Unit] = []
        var batchSize = 0
        var held: [MappedFile] = []  // keeps every file of the pending batch mapped
        var document = 0
        for path in files {
            let file = try MappedFile(path: path)
            held.append(file)
            for range in documentRanges(file.bytes) {
                var start = range.lowerBound
                var first = true
                while start < range.upperBound {
                    let end = unitEnd(file.bytes, start, range.upperBound)
                    batch.append(Unit(bytes: UnsafeBufferPointer(rebasing: file.bytes[start..<end]), document: document, startsDocument: first))
                    batchSize += end - start
                    first = false
                    start = end
                    if batchSize >= batchBytes {
                        try withExtendedLifetime(held) { try body(batch) }
                        batch.removeAll(keepingCapacity: true)
                        batchSize = 0
                        held = [file]
                    }
                }
                document += 1
            }
        }
        if !batch.isEmpty { try withExtendedLifetime(held) { try body(batch) } }
    }

    /// Ranges of the non-blank documents of one file.
    func documentRanges(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        func keep(_ range: Range<Int>) {
            if bytes[range].contains(where: { !($0 == 0x20 || (0x09...0x0D).contains($0)) }) { ranges.append(range) }
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
            case S_IFREG: if try isText(path) { found.append(path) }
            default: continue  // symlinks, devices, sockets
            }
        }
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
