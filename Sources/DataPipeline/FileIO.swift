#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers: whole-file reads, atomic writes (temporary name, then rename).
enum FileIO {
    /// The bytes of a file, or a `DataError` naming it.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw error(path, "cannot open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error(path, "cannot stat") }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < size {
                let n = read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw error(path, "read failed") }
                done += n
            }
        }
        return bytes
    }

    /// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so a
    /// reader never sees a half-written file under the final name.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw error(path, "cannot create \(temporary)") }
        var done = 0
        let ok: Bool = bytes.withUnsafeBytes { buffer in
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                done += n
            }
            return true
        }
        close(fd)
        guard ok else {
            unlink(temporary)
            throw error(path, "write failed (disk full?)")
        }
        try move(temporary, to: path)
    }

    /// Renames `from` over `to`, or throws naming `to`.
    static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            unlink(from)
            throw error(to, "cannot rename \(from) into place")
        }
    }

    /// A hidden temporary name next to `path`, unique to this process.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return "\(directory).\(name).tmp-\(getpid())"
    }

    /// Whether `path` exists (following symlinks), and whether it is a directory.
    static func kind(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        var info = stat()
        guard stat(path, &info) == 0 else { return (false, false) }
        return (true, (info.st_mode & S_IFMT) == S_IFDIR)
    }

    /// Creates `path` and its parents (like `mkdir -p`).
    static func makeDirectories(_ path: String) throws {
        if kind(path).isDirectory { return }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if !kind(prefix).isDirectory, mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw error(path, "cannot create directory")
            }
            prefix += "/"
        }
    }

    /// A `DataError.io` for `path` with the current `errno` text.
    static func error(_ path: String, _ what: String) -> DataError {
        let reason = String(cString: strerror(errno))
        return .io(path: path, problem: "\(what): \(reason)")
    }
}
