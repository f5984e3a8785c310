import CZstd

/// Encodes and decodes one chunk of float32 values: optionally byte-plane shuffled, then one zstd
/// frame (or the raw little-endian bytes with `compression: none`).
///
/// A shard file is a sequence of such chunks. Every chunk holds `chunkElements` values except the
/// last, and a zstd frame records its own size and content size, so a reader walks the file frame by
/// frame without an index. Buffers are allocated once per codec (a codec is used by one thread).
public final class ChunkCodec {
    /// How chunks are stored.
    public enum Method: String, Codable, Sendable {
        /// zstd frames.
        case zstd
        /// Raw little-endian float32 bytes.
        case none
    }

    /// The storage method.
    public let method: Method
    /// zstd level (negative levels are zstd's fast modes).
    public let level: Int
    /// Whether values are byte-plane shuffled before compression.
    public let shuffle: Bool
    /// Values per chunk.
    public let chunkElements: Int
    private var cctx: OpaquePointer?
    private var dctx: OpaquePointer?
    private let planes: UnsafeMutablePointer<UInt8>
    private let output: UnsafeMutableRawPointer
    private let outputCapacity: Int
    private let threads: Int

    /// A codec; `threads` ≥ 1 asks zstd for that many worker threads when the library supports it.
    public init(method: Method, level: Int, shuffle: Bool, chunkElements: Int = 1 << 20, threads: Int = 0) throws {
        precondition(chunkElements > 0, "chunkElements must be positive")
        self.method = method
        self.level = level
        self.shuffle = shuffle
        self.chunkElements = chunkElements
        self.threads = threads
        let bytes = chunkElements * 4
        planes = .allocate(capacity: bytes)
        outputCapacity = Int(ZSTD_compressBound(bytes))
        output = .allocate(byteCount: outputCapacity, alignment: 64)
        if method == .zstd {
            guard let c = ZSTD_createCCtx() else { throw CheckpointError("zstd: cannot create a compression context (out of memory)") }
            cctx = c
            guard ZstdLibrary.levels.contains(level) else {
                throw CheckpointError("checkpoint.level \(level) is outside zstd's levels \(ZstdLibrary.levels); pick e.g. 1")
            }
            let r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, Int32(level))
            guard ZSTD_isError(r) == 0 else { throw CheckpointError("zstd level \(level): \(ZstdLibrary.message(r))") }
            if threads > 0 { _ = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, Int32(threads)) }  // ignored by single-thread builds
        }
    }

    /// A codec with the same settings and its own buffers.
    public func twin() throws -> ChunkCodec {
        try ChunkCodec(method: method, level: level, shuffle: shuffle, chunkElements: chunkElements, threads: threads)
    }

    deinit {
        if let cctx { ZSTD_freeCCtx(cctx) }
        if let dctx { ZSTD_freeDCtx(dctx) }
        planes.deallocate()
        output.deallocate()
    }

    /// Encodes `count` ≤ `chunkElements` values; the result lives in the codec until the next call.
    public func encode(_ values: UnsafePointer<Float>, count: Int) throws -> UnsafeRawBufferPointer {
        precondition(count <= chunkElements, "chunk larger than chunkElements")
        let bytes = count * 4
        let source: UnsafeRawPointer
        if shuffle {
            ByteShuffle.shuffle(values, count: count, into: planes)
            source = UnsafeRawPointer(planes)
        } else {
            source = UnsafeRawPointer(values)
        }
        guard method == .zstd, let cctx else { return UnsafeRawBufferPointer(start: source, count: bytes) }
        let written = ZSTD_compress2(cctx, output, outputCapacity, source, bytes)
        guard ZSTD_isError(written) == 0 else { throw CheckpointError("zstd compression failed: \(ZstdLibrary.message(written))") }
        return UnsafeRawBufferPointer(start: output, count: written)
    }

    /// Decodes the chunk at the start of `data` into `destination` (room for `chunkElements` values).
    /// Returns the bytes consumed and the values produced; throws on a malformed or truncated chunk.
    /// `expected` is the number of values this chunk must hold (raw storage has no frame header).
    public func decode(_ data: UnsafeRawBufferPointer, expected: Int, into destination: UnsafeMutablePointer<Float>) throws -> (bytes: Int, values: Int) {
        precondition(expected <= chunkElements, "chunk larger than chunkElements")
        guard let base = data.baseAddress, data.count > 0 else { throw CheckpointError("ends early") }
        let planeTarget = shuffle ? UnsafeMutableRawPointer(planes) : UnsafeMutableRawPointer(destination)
        let consumed: Int
        switch method {
        case .none:
            guard data.count >= expected * 4 else { throw CheckpointError("ends early (\(data.count) bytes left, \(expected * 4) expected)") }
            planeTarget.copyMemory(from: base, byteCount: expected * 4)
            consumed = expected * 4
        case .zstd:
            let frame = ZSTD_findFrameCompressedSize(base, data.count)
            guard ZSTD_isError(frame) == 0 else { throw CheckpointError("holds a damaged or truncated zstd frame (\(ZstdLibrary.message(frame)))") }
            if dctx == nil { dctx = ZSTD_createDCtx() }
            guard let dctx else { throw CheckpointError("zstd: cannot create a decompression context (out of memory)") }
            let produced = ZSTD_decompressDCtx(dctx, planeTarget, chunkElements * 4, base, frame)
            guard ZSTD_isError(produced) == 0 else { throw CheckpointError("holds a damaged zstd frame (\(ZstdLibrary.message(produced)))") }
            guard produced == expected * 4 else { throw CheckpointError("holds a chunk of \(produced) bytes where \(expected * 4) were expected") }
            consumed = frame
        }
        if shuffle { ByteShuffle.unshuffle(planes, count: expected, into: destination) }
        return (consumed, expected)
    }
}
