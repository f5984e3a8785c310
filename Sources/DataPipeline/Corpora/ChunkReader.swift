#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file in chunks of decompressed bytes: plain, gzip (`.gz`) or zstd (`.zst`), by the
/// file name's last extension.
final class ChunkReader {
    /// How a file is compressed.
    enum Compression {
        case none, gzip, zstd

        /// From the file name: `.gz` → gzip, `.zst`/`.zstd` → zstd, anything else none.
        init(path: String) {
            let lower = path.lowercased()
            if lower.hasSuffix(".gz") { self = .gzip }
            else if lower.hasSuffix(".zst") || lower.hasSuffix(".zstd") { self = .zstd }
            else { self = .none }
        }

        /// The name without the compression extension (`a.jsonl.gz` → `a.jsonl`).
        static func stripped(_ path: String) -> String {
            switch Compression(path: path) {
            case .none: return path
            case .gzip: return String(path.dropLast(3))
            case .zstd: return String(path.dropLast(path.lowercased().hasSuffix(".zst") ? 4 : 5))
            }
        }
    }

    /// The file read.
    let path: String
    /// Compressed bytes read so far (for progress bars).
    private(set) var bytesRead = 0
    private let fd: Int32
    private let compression: Compression
    private let gzip: GzipStream?
    private let zstd: ZstdStream?
    private var raw = [UInt8](repeating: 0, count: 1 << 20)
    private var pending: [UInt8] = []
    private var atEnd = false

    /// Opens `path`, or throws a `DataError` naming it.
    init(path: String) throws {
        self.path = path
        compression = Compression(path: path)
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileIO.error(path, "cannot open") }
        gzip = compression == .gzip ? try GzipStream(path: path) : nil
        zstd = compression == .zstd ? ZstdStream(path: path) : nil
    }

    deinit { close(fd) }

    /// The next chunk of (decompressed) bytes; nil at the end of the file.
    func next() throws -> [UInt8]? {
        while !atEnd {
            let n = raw.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw FileIO.error(path, "read failed") }
            if n == 0 {
                atEnd = true
                try gzip?.finish()
                try zstd?.finish()
                break
            }
            bytesRead += n
            try raw.withUnsafeBufferPointer { all in
                let input = UnsafeBufferPointer(rebasing: all[0..<n])
                switch compression {
                case .none: pending.append(contentsOf: input)
                case .gzip: try gzip!.feed(input) { pending.append(contentsOf: $0) }
                case .zstd: try zstd!.feed(input) { pending.append(contentsOf: $0) }
                }
            }
            if !pending.isEmpty {
                defer { pending.removeAll(keepingCapacity: true) }
                return pending
            }
        }
        return nil
    }

    /// The whole (decompressed) file.
    func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = try next() { out += chunk }
        return out
    }
}
