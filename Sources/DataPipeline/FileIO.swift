#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Support

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

    /// Writes `bytes` to `path` atomically (`AtomicFile`), or throws a `DataError` naming it.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do { try AtomicFile.write(bytes, to: path) } catch { throw dataError(error) }
    }

    /// Renames `from` over `to`, or throws naming `to`.
    static func move(_ from: String, to: String) throws {
        do { try AtomicFile.move(from, to: to) } catch { throw dataError(error) }
    }

    /// The `DataError.io` of an `AtomicFile` failure.
    static func dataError(_ failure: AtomicFile.Failure) -> DataError {
        .io(path: failure.path, problem: "\(failure.what): \(failure.reason)")
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
