/// An Apache Parquet file read for one text column: the footer (Thrift compact protocol), the
/// schema, and the column's values in every row group, in order.
///
/// Supported: flat (top-level) `BYTE_ARRAY` columns, required or optional (nulls are skipped);
/// data pages v1 and v2; PLAIN and dictionary (`PLAIN_DICTIONARY`, `RLE_DICTIONARY`) encodings;
/// UNCOMPRESSED, SNAPPY, GZIP and ZSTD pages. Anything else — encryption, nested or repeated
/// columns, other encodings or codecs, column data in other files — throws
/// `DataError.badParquet` naming it, as does a truncated or corrupt file.
public struct ParquetFile {
    /// The file read.
    public let path: String
    /// Top-level column names, in schema order.
    public let columnNames: [String]
    /// Total rows over all row groups.
    public let rowCount: Int
    private let file: MappedFile
    private let schema: [(name: String, type: Int64?, optional: Bool, repeated: Bool, children: Int)]
    private let rowGroups: [[Int16: ThriftCompact.Value]]

    /// Maps the file and reads its footer.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        let n = bytes.count
        guard n >= 12 else { throw DataError.badParquet(path: path, problem: "only \(n) bytes: the file is truncated") }
        let tail = Array(bytes[(n - 4)..<n])
        if tail == Array("PARE".utf8) { throw DataError.badParquet(path: path, problem: "the footer is encrypted (Parquet modular encryption is not supported)") }
        guard Array(bytes[0..<4]) == Array("PAR1".utf8) else { throw DataError.badParquet(path: path, problem: "no PAR1 magic at the start: not a Parquet file") }
        guard tail == Array("PAR1".utf8) else { throw DataError.badParquet(path: path, problem: "no PAR1 magic at the end: the file is truncated") }
        let footerLength = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
        guard footerLength > 0, footerLength <= n - 12 else { throw DataError.badParquet(path: path, problem: "footer length \(footerLength) does not fit the file: it is truncated or corrupt") }
        var reader = ThriftCompact(bytes, at: n - 8 - footerLength)
        let meta: [Int16: ThriftCompact.Value]
        do { meta = try reader.readStruct() } catch let error as ThriftCompact.Malformed {
            throw DataError.badParquet(path: path, problem: "the footer is corrupt (\(error.problem))")
        }
        if meta[8] != nil { throw DataError.badParquet(path: path, problem: "columns are encrypted (Parquet modular encryption is not supported)") }
        var elements: [(name: String, type: Int64?, optional: Bool, repeated: Bool, children: Int)] = []
        for element in meta[2]?.list ?? [] {
            let fields = element.fields ?? [:]
            let repetition = fields[3]?.int ?? 0
            elements.append((fields[4]?.string ?? "", fields[1]?.int, repetition == 1, repetition == 2, Int(fields[5]?.int ?? 0)))
        }
        guard !elements.isEmpty else { throw DataError.badParquet(path: path, problem: "the footer has no schema") }
        schema = elements
        rowGroups = (meta[4]?.list ?? []).compactMap(\.fields)
        rowCount = Int(meta[3]?.int ?? 0)
        // Top-level names: walk the tree under the root, skipping each group's descendants.
        var names: [String] = []
        var index = 1
        while index < elements.count {
            names.append(elements[index].name)
            index = Self.skip(elements, index)
        }
        columnNames = names
    }

    /// The index after the subtree rooted at `index`.
    private static func skip(_ elements: [(name: String, type: Int64?, optional: Bool, repeated: Bool, children: Int)], _ index: Int) -> Int {
        var next = index + 1
        for _ in 0..<elements[index].children where next < elements.count { next = skip(elements, next) }
        return next
    }

    /// Calls `body` with every non-null value of the named column, row group by row group.
    public func forEachValue(column: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        // The leaf index of the column among all leaves (the column chunks' order).
        var leaf = 0
        var index = 1
        var found: (leaf: Int, optional: Bool)? = nil
        while index < schema.count {
            let element = schema[index]
            if element.name == column {
                guard element.children == 0 else { throw DataError.badParquet(path: path, problem: "column \"\(column)\" is a nested group, not a text column") }
                guard !element.repeated else { throw DataError.badParquet(path: path, problem: "column \"\(column)\" is repeated (a list), not a text column") }
                guard element.type == 6 else {
                    throw DataError.badParquet(path: path, problem: "column \"\(column)\" has physical type \(Self.typeName(element.type)), not BYTE_ARRAY (string)")
                }
                found = (leaf, element.optional)
                break
            }
            let end = Self.skip(schema, index)
            leaf += schema[index..<end].filter { $0.children == 0 }.count
            index = end
        }
        guard let found else { throw DataError.missingColumn(path: path, column: column, available: columnNames) }
        for (groupIndex, group) in rowGroups.enumerated() {
            guard let chunks = group[1]?.list, found.leaf < chunks.count, let chunk = chunks[found.leaf].fields else {
                throw DataError.badParquet(path: path, problem: "row group \(groupIndex) lacks column \"\(column)\"")
            }
            if let other = chunk[1]?.string, !other.isEmpty { throw DataError.badParquet(path: path, problem: "column data stored in another file (file_path) is not supported") }
            guard let meta = chunk[3]?.fields else {
                throw DataError.badParquet(path: path, problem: chunk[9] != nil ? "column \"\(column)\" is encrypted (not supported)" : "row group \(groupIndex) has no column metadata")
            }
            let reader = ParquetColumnReader(path: path, bytes: file.bytes, optional: found.optional)
            try reader.read(meta, body)
        }
    }

    static func typeName(_ type: Int64?) -> String {
        let names = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"]
        guard let type, type >= 0, Int(type) < names.count else { return "(none)" }
        return names[Int(type)]
    }
}
