import CSnappy
import CZlib
import CZstd

/// One-shot decompression of whole buffers (Parquet pages, gzip and zstd data) through the C
/// libraries; every failing call becomes a `DataError.decompression` naming the call and its code.
enum Decompression {
    /// Throws `DataError.decompression` unless `ok`.
    static func check(_ ok: Bool, _ call: String, code: Int, path: String) throws {
        if !ok { throw DataError.decompression(path: path, call: call, code: code) }
    }

    /// Snappy's raw format (Parquet's SNAPPY codec).
    static func snappy(_ input: UnsafeBufferPointer<UInt8>, path: String) throws -> [UInt8] {
        var length = 0
        let base = UnsafeRawPointer(input.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self)
        let sized = snappy_uncompressed_length(base, input.count, &length)
        try check(sized == SNAPPY_OK, "snappy_uncompressed_length", code: Int(sized.rawValue), path: path)
        var out = [UInt8](repeating: 0, count: length)
        var written = length
        let status = out.withUnsafeMutableBytes { buffer in
            snappy_uncompress(base, input.count, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), &written)
        }
        try check(status == SNAPPY_OK, "snappy_uncompress", code: Int(status.rawValue), path: path)
        return Array(out.prefix(written))
    }

    /// zstd frames (one or several), whatever their declared sizes.
    static func zstd(_ input: UnsafeBufferPointer<UInt8>, path: String) throws -> [UInt8] {
        let stream = ZstdStream(path: path)
        var out: [UInt8] = []
        try stream.feed(input) { out.append(contentsOf: $0) }
        try stream.finish()
        return out
    }

    /// gzip (one or several members) or zlib data.
    static func gzip(_ input: UnsafeBufferPointer<UInt8>, path: String) throws -> [UInt8] {
        let stream = try GzipStream(path: path)
        var out: [UInt8] = []
        try stream.feed(input) { out.append(contentsOf: $0) }
        try stream.finish()
        return out
    }
}

/// Streaming gzip decompression (zlib's inflate with automatic gzip/zlib header detection);
/// concatenated gzip members are decoded one after another, as `gzip -d` does.
final class GzipStream {
    private var stream = z_stream()
    private let path: String
    private var ended = true
    private var output = [UInt8](repeating: 0, count: 1 << 18)

    init(path: String) throws {
        self.path = path
        let code = czlib_inflate_init(&stream, 15 + 32)
        try Decompression.check(code == Z_OK, "inflateInit2", code: Int(code), path: path)
    }

    deinit { inflateEnd(&stream) }

    /// Decompresses `input`, handing each decompressed chunk to `sink`.
    func feed(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base)
        stream.avail_in = uInt(input.count)
        var full = false
        while stream.avail_in > 0 || (full && !ended) {
            if ended {
                // A new member starts: skip padding zeros some writers leave between members.
                if stream.next_in.pointee == 0 {
                    stream.next_in += 1
                    stream.avail_in -= 1
                    continue
                }
                let code = inflateReset(&stream)
                try Decompression.check(code == Z_OK, "inflateReset", code: Int(code), path: path)
                ended = false
            }
            let code = output.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            try Decompression.check(code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR, "inflate", code: Int(code), path: path)
            let produced = output.count - Int(stream.avail_out)
            full = stream.avail_out == 0
            if produced > 0 { try output.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) } }
            if code == Z_STREAM_END { ended = true }
            if code == Z_BUF_ERROR, produced == 0 { break }
        }
    }

    /// Throws when the data stopped inside a member (a truncated file).
    func finish() throws {
        try Decompression.check(ended, "inflate", code: Int(Z_BUF_ERROR), path: path)
    }
}

/// Streaming zstd decompression of one or more frames.
final class ZstdStream {
    private let context: OpaquePointer
    private let path: String
    private var inFrame = false
    private var output = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())

    init(path: String) {
        self.path = path
        context = ZSTD_createDCtx()
    }

    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses `input`, handing each decompressed chunk to `sink`.
    func feed(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        var source = ZSTD_inBuffer(src: base, size: input.count, pos: 0)
        var produced = 0
        while source.pos < source.size || produced == output.count {
            let result = output.withUnsafeMutableBytes { out -> Int in
                var target = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let r = ZSTD_decompressStream(context, &target, &source)
                produced = target.pos
                return r
            }
            try Decompression.check(ZSTD_isError(result) == 0, "ZSTD_decompressStream", code: Int(ZSTD_getErrorCode(result).rawValue), path: path)
            inFrame = result != 0
            if produced > 0 { try output.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) } }
        }
    }

    /// Throws when the data stopped inside a frame (a truncated file).
    func finish() throws {
        try Decompression.check(!inFrame, "ZSTD_decompressStream", code: Int(ZSTD_error_srcSize_wrong.rawValue), path: path)
    }
}
