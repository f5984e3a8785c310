#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file writes that a reader never sees half done: a temporary name beside the file, then a rename.
///
/// The one atomic write of the project (token shards, the prepare manifest, tokenizer.json,
/// safetensors exports). Failures carry the path, the step and the operating system's reason, so each
/// module can turn them into its own one-line error.
public enum AtomicFile {
    /// A failed step: the file it concerns, what was being done, and `strerror(errno)`.
    public struct Failure: Error, Sendable {
        public let path: String
        public let what: String
        public let reason: String

        /// Captures `errno` now.
        public init(path: String, what: String) {
            self.path = path
            self.what = what
            reason = String(cString: strerror(errno))
        }
    }

    /// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(Failure) {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(path: path, what: "cannot create \(temporary)") }
        let ok = writeAll(fd, bytes)
        close(fd)
        guard ok else {
            let failure = Failure(path: path, what: "write failed (disk full?)")
            unlink(temporary)
            throw failure
        }
        try move(temporary, to: path)
    }

    /// `write(_:to:)` for an array of bytes.
    public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let result: Result<Void, Failure> = bytes.withUnsafeBytes { buffer in
            do throws(Failure) { try write(buffer, to: path); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Writes all of `bytes` to `fd`, retrying interrupted and short writes; false on failure.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    /// Renames `from` over `to` (removing `from` if that fails).
    public static func move(_ from: String, to: String) throws(Failure) {
        guard rename(from, to) == 0 else {
            let failure = Failure(path: to, what: "cannot rename \(from) into place")
            unlink(from)
            throw failure
        }
    }

    /// A hidden temporary name next to `path`, unique to this process.
    public static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).tmp-\(getpid())"
    }
}
