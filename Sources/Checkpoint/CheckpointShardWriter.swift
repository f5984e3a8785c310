import Foundation

/// Writes one shard file: a stream of float32 values through a `ChunkCodec`, then fsync.
///
/// Plain POSIX writes, so that every failure (a full disk above all) surfaces as an error naming the
/// file and the cause, and nothing is buffered past the fsync.
public enum CheckpointShardWriter {
    /// What a finished shard write produced.
    public struct Result: Sendable {
        /// Bytes of the file.
        public var storedBytes: Int
        /// XXH64 of the uncompressed bytes.
        public var checksum: UInt64
        /// Wall time of compression + writing + fsync.
        public var seconds: Double
    }

    /// Writes `count` values at `values` to `path` (created or truncated) and fsyncs it.
    ///
    /// Compression and writing overlap: chunk k is encoded (by `codec` or a twin, alternately) while a
    /// second thread checksums and writes chunk k - 1, so a save runs at the slower of the two, not
    /// their sum. `values` must stay unchanged until this returns (the writer hashes it behind the
    /// encoder).
    public static func write(_ values: UnsafePointer<Float>, count: Int, to path: String, codec: ChunkCodec) throws -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError("cannot create \(path): \(String(cString: strerror(errno))); check checkpoint.dir") }
        var closed = false
        defer { if !closed { close(fd) } }
        let chunks = (count + codec.chunkElements - 1) / codec.chunkElements
        let codecs = chunks > 1 ? [codec, try codec.twin()] : [codec]
        let writer = DispatchQueue(label: "pretrain.shard-write")
        let writing = DispatchGroup()
        /// What the writer thread owns: the running checksum, the file offset and the first write error.
        final class WriterState: @unchecked Sendable { var error: Error?; var hash = XXH64(); var offset = 0 }
        let state = WriterState()
        // Whatever happens, no write may outlive the descriptor or the twin's buffer (ARC may free an
        // object after its last use, and the writer thread reads the twin's buffer by address).
        defer { writing.wait(); withExtendedLifetime(codecs) {} }
        var stored = 0
        var done = 0
        var k = 0
        while done < count {
            let n = min(codec.chunkElements, count - done)
            let chunk = values + done
            let bytes = try codecs[k % codecs.count].encode(chunk, count: n)  // overlaps the write of chunk k - 1
            writing.wait()
            if let error = state.error { throw error }
            stored += bytes.count
            writing.enter()
            let address = UInt(bitPattern: bytes.baseAddress), length = bytes.count  // valid until the codec's next encode
            let rawAddress = UInt(bitPattern: chunk), rawLength = n * 4  // the caller's values: valid until we return
            writer.async {
                state.hash.update(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: rawAddress), count: rawLength))
                let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: length)
                do {
                    try writeAll(fd, bytes, path: path)
                    // Start the disk writeback of what was just written now, while the next chunk is
                    // encoded, rather than all of it in the final fsync (PostgreSQL's fallback for
                    // sync_file_range). Advisory: a failure here changes nothing.
                    _ = posix_fadvise(fd, off_t(state.offset), off_t(length), POSIX_FADV_DONTNEED)
                    state.offset += length
                } catch { state.error = error }
                writing.leave()
            }
            done += n
            k += 1
        }
        writing.wait()
        if let error = state.error { throw error }
        if fsync(fd) != 0 { throw failure(path, "fsync") }
        closed = true
        if close(fd) != 0 { throw failure(path, "close") }
        return Result(storedBytes: stored, checksum: state.hash.digest(),
                      seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// Writes `data` to `path` and fsyncs it (manifests, `latest`).
    public static func writeFile(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        if fsync(fd) != 0 { throw failure(path, "fsync") }
    }

    /// fsyncs a directory so that renames and new entries in it are durable.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Foundation.write(fd, p, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path, "write")
            }
            if n == 0 { throw CheckpointError("cannot write \(path): the device accepts no more bytes (disk full?)") }
            p += n
            left -= n
        }
    }

    static func failure(_ path: String, _ call: String) -> CheckpointError {
        let code = errno
        let reason = String(cString: strerror(code))
        let hint = code == ENOSPC || code == EDQUOT ? " (the disk is full: free space or point checkpoint.dir elsewhere)" : ""
        return CheckpointError("cannot \(call) \(path): \(reason)\(hint)")
    }
}
