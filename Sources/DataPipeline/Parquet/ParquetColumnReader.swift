/// Reads one flat BYTE_ARRAY column chunk of a Parquet file: its dictionary page and data pages
/// (v1 and v2), decompressed, with definition levels for optional columns.
struct ParquetColumnReader {
    let path: String
    let bytes: UnsafeBufferPointer<UInt8>
    let optional: Bool

    private static let encodingNames = [0: "PLAIN", 2: "PLAIN_DICTIONARY", 3: "RLE", 4: "BIT_PACKED", 5: "DELTA_BINARY_PACKED",
                                        6: "DELTA_LENGTH_BYTE_ARRAY", 7: "DELTA_BYTE_ARRAY", 8: "RLE_DICTIONARY", 9: "BYTE_STREAM_SPLIT"]
    private static let codecNames = [0: "UNCOMPRESSED", 1: "SNAPPY", 2: "GZIP", 3: "LZO", 4: "BROTLI", 5: "LZ4", 6: "ZSTD", 7: "LZ4_RAW"]

    private func fail(_ problem: String) -> DataError { .badParquet(path: path, problem: problem) }

    /// Calls `body` with each non-null value of the chunk described by `meta` (ColumnMetaData).
    func read(_ meta: [Int16: ThriftCompact.Value], _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let codec = Int(meta[4]?.int ?? 0)
        guard [0, 1, 2, 6].contains(codec) else {
            throw fail("compression codec \(Self.codecNames[codec] ?? String(codec)) is not supported (UNCOMPRESSED, SNAPPY, GZIP and ZSTD are)")
        }
        let totalValues = Int(meta[5]?.int ?? 0)
        let dataOffset = Int(meta[9]?.int ?? 0)
        var position = dataOffset
        if let dictionaryOffset = meta[11]?.int, dictionaryOffset > 0, Int(dictionaryOffset) < dataOffset { position = Int(dictionaryOffset) }
        var dictionary: [[UInt8]]? = nil
        var seen = 0
        while seen < totalValues {
            guard position >= 0, position < bytes.count else { throw fail("a page lies past the end of the file: it is truncated") }
            var reader = ThriftCompact(bytes, at: position)
            let header: [Int16: ThriftCompact.Value]
            do { header = try reader.readStruct() } catch {
                throw fail("a page header at byte \(position) is corrupt or truncated")
            }
            let type = Int(header[1]?.int ?? -1)
            let uncompressedSize = Int(header[2]?.int ?? 0)
            let compressedSize = Int(header[3]?.int ?? 0)
            let start = reader.position
            guard compressedSize >= 0, uncompressedSize >= 0, start + compressedSize <= bytes.count else {
                throw fail("a page of \(compressedSize) bytes runs past the end of the file: it is truncated")
            }
            let page = UnsafeBufferPointer(rebasing: bytes[start..<(start + compressedSize)])
            position = start + compressedSize
            switch type {
            case 2:  // dictionary page
                let count = Int(header[7]?.fields?[1]?.int ?? 0)
                let data = try decompress(page, codec: codec, size: uncompressedSize)
                dictionary = try data.withUnsafeBufferPointer { buffer in
                    var values: [[UInt8]] = []
                    var offset = 0
                    for _ in 0..<count { values.append(Array(try plainValue(buffer, &offset))) }
                    return values
                }
            case 0:  // data page v1: levels and values all compressed together
                guard let info = header[5]?.fields else { throw fail("a data page has no header") }
                let count = Int(info[1]?.int ?? 0)
                let data = try decompress(page, codec: codec, size: uncompressedSize)
                try data.withUnsafeBufferPointer { buffer in
                    var offset = 0
                    var defined: [Bool]? = nil
                    if optional {
                        guard buffer.count >= 4 else { throw fail("a data page is shorter than its definition levels") }
                        let length = Int(buffer[0]) | Int(buffer[1]) << 8 | Int(buffer[2]) << 16 | Int(buffer[3]) << 24
                        guard 4 + length <= buffer.count else { throw fail("definition levels run past their page") }
                        defined = try levels(UnsafeBufferPointer(rebasing: buffer[4..<(4 + length)]), count: count)
                        offset = 4 + length
                    }
                    try values(buffer, from: offset, count: count, defined: defined, encoding: Int(info[2]?.int ?? 0), dictionary: dictionary, body)
                }
                seen += count
            case 3:  // data page v2: levels uncompressed in front, then the (maybe compressed) values
                guard let info = header[8]?.fields else { throw fail("a v2 data page has no header") }
                let count = Int(info[1]?.int ?? 0)
                let definitionLength = Int(info[5]?.int ?? 0)
                let repetitionLength = Int(info[6]?.int ?? 0)
                guard repetitionLength == 0 else { throw fail("the column has repetition levels (a list), not a flat text column") }
                guard definitionLength >= 0, definitionLength <= page.count else { throw fail("definition levels run past their page") }
                let defined = optional ? try levels(UnsafeBufferPointer(rebasing: page[0..<definitionLength]), count: count) : nil
                let rest = UnsafeBufferPointer(rebasing: page[definitionLength...])
                let compressed = info[7]?.bool ?? true
                let data = compressed ? try decompress(rest, codec: codec, size: uncompressedSize - definitionLength) : Array(rest)
                try data.withUnsafeBufferPointer { buffer in
                    try values(buffer, from: 0, count: count, defined: defined, encoding: Int(info[4]?.int ?? 0), dictionary: dictionary, body)
                }
                seen += count
            default:
                continue  // index pages and unknown pages carry no values
            }
        }
    }

    private func decompress(_ page: UnsafeBufferPointer<UInt8>, codec: Int, size: Int) throws -> [UInt8] {
        let out: [UInt8]
        switch codec {
        case 1: out = try Decompression.snappy(page, path: path)
        case 2: out = try Decompression.gzip(page, path: path)
        case 6: out = try Decompression.zstd(page, path: path)
        default: out = Array(page)
        }
        guard out.count == size else { throw fail("a page decompressed to \(out.count) bytes, not the \(size) its header says") }
        return out
    }

    /// One PLAIN BYTE_ARRAY value: a 4-byte little-endian length, then the bytes.
    private func plainValue(_ buffer: UnsafeBufferPointer<UInt8>, _ offset: inout Int) throws -> UnsafeBufferPointer<UInt8> {
        guard offset + 4 <= buffer.count else { throw fail("a value runs past its page") }
        let length = Int(buffer[offset]) | Int(buffer[offset + 1]) << 8 | Int(buffer[offset + 2]) << 16 | Int(buffer[offset + 3]) << 24
        offset += 4
        guard length >= 0, offset + length <= buffer.count else { throw fail("a value runs past its page") }
        defer { offset += length }
        return UnsafeBufferPointer(rebasing: buffer[offset..<(offset + length)])
    }

    /// Definition levels (bit width 1 for a flat optional column): true where a value is present.
    private func levels(_ data: UnsafeBufferPointer<UInt8>, count: Int) throws -> [Bool] {
        try ParquetHybrid.decode(data, bitWidth: 1, count: count, path: path).map { $0 == 1 }
    }

    private func values(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, count: Int, defined: [Bool]?, encoding: Int,
                        dictionary: [[UInt8]]?, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws
    {
        let present = defined.map { $0.filter { $0 }.count } ?? count
        switch encoding {
        case 0:
            var offset = start
            for _ in 0..<present { try body(try plainValue(buffer, &offset)) }
        case 2, 8:
            guard let dictionary else { throw fail("a dictionary-encoded page comes without a dictionary page") }
            guard start < buffer.count || present == 0 else { throw fail("a dictionary-encoded page has no indices") }
            if present == 0 { return }
            let width = Int(buffer[start])
            guard width <= 32 else { throw fail("dictionary index bit width \(width) is invalid") }
            let indices = try ParquetHybrid.decode(UnsafeBufferPointer(rebasing: buffer[(start + 1)...]), bitWidth: width, count: present, path: path)
            for index in indices {
                guard Int(index) < dictionary.count else { throw fail("dictionary index \(index) is past the dictionary's \(dictionary.count) values") }
                try dictionary[Int(index)].withUnsafeBufferPointer { try body($0) }
            }
        default:
            throw fail("encoding \(Self.encodingNames[encoding] ?? String(encoding)) is not supported (PLAIN and dictionary encodings are)")
        }
    }
}

/// Parquet's RLE / bit-packing hybrid encoding of small integers (levels, dictionary indices).
enum ParquetHybrid {
    /// The first `count` values of `data`.
    static func decode(_ data: UnsafeBufferPointer<UInt8>, bitWidth: Int, count: Int, path: String) throws -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(count)
        var p = 0
        let byteWidth = (bitWidth + 7) / 8
        while out.count < count {
            var header: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard p < data.count, shift < 64 else { throw DataError.badParquet(path: path, problem: "RLE/bit-packed data ends early") }
                let b = data[p]
                p += 1
                header |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
            }
            if header & 1 == 0 {  // an RLE run
                let run = Int(header >> 1)
                guard p + byteWidth <= data.count else { throw DataError.badParquet(path: path, problem: "RLE data ends early") }
                var value: UInt32 = 0
                for k in 0..<byteWidth { value |= UInt32(data[p + k]) << (8 * k) }
                p += byteWidth
                out += repeatElement(value, count: min(run, count - out.count))
            } else {  // bit-packed groups of 8; the last group may be cut short after the final value
                let needed = min(Int(header >> 1) * 8, count - out.count)
                guard p + (needed * bitWidth + 7) / 8 <= data.count else {
                    throw DataError.badParquet(path: path, problem: "bit-packed data ends early")
                }
                for v in 0..<needed {
                    var value: UInt32 = 0
                    for k in 0..<bitWidth {
                        let at = p * 8 + v * bitWidth + k
                        if data[at >> 3] & (1 << UInt8(at & 7)) != 0 { value |= 1 << UInt32(k) }
                    }
                    out.append(value)
                }
                p += Int(header >> 1) * bitWidth
            }
        }
        return out
    }
}
