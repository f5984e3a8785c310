/// Reads one column of a CSV or TSV file with a header row (RFC 4180: fields in double quotes
/// may hold the delimiter, line breaks and `""` for a quote; records end with LF or CRLF).
///
/// The column is found by name in the header; a file without it throws
/// `DataError.missingColumn` listing the columns there are. Empty fields are no document.
struct CSVReader {
    let path: String
    let column: String
    let delimiter: UInt8

    /// Calls `body` with the named column's bytes of every record after the header.
    func read(_ body: ([UInt8]) throws -> Void) throws {
        let reader = try ChunkReader(path: path)
        var index: Int? = nil
        var header = true
        var field: [UInt8] = []
        var fieldNumber = 0
        var quoted = false  // inside a quoted field
        var quoteSeen = false  // the previous byte was a quote inside a quoted field
        var atFieldStart = true
        var recordHasContent = false
        var pendingCR = false
        var headerNames: [String] = []
        var line = 1
        var recordLine = 1

        func endField() throws {
            if header {
                var name = String(decoding: field, as: UTF8.self)
                if headerNames.isEmpty, name.hasPrefix("\u{FEFF}") { name.removeFirst() }
                headerNames.append(name)
            } else if fieldNumber == index, !field.isEmpty {
                try body(field)
            }
            field.removeAll(keepingCapacity: true)
            fieldNumber += 1
            atFieldStart = true
            quoteSeen = false
        }
        func endRecord() throws {
            if !recordHasContent && field.isEmpty && fieldNumber == 0 { return }  // a blank line
            try endField()
            if header {
                header = false
                index = headerNames.firstIndex(of: column)
                if index == nil { throw DataError.missingColumn(path: path, column: column, available: headerNames) }
            }
            fieldNumber = 0
            recordHasContent = false
        }

        while let chunk = try reader.next() {
            for byte in chunk {
                if byte == 0x0A { line += 1 }
                if !quoted, !recordHasContent, field.isEmpty, fieldNumber == 0 { recordLine = line }
                if quoted {
                    if quoteSeen {
                        quoteSeen = false
                        if byte == UInt8(ascii: "\"") {
                            field.append(byte)
                            continue
                        }
                        quoted = false  // the quote closed the field; fall through to handle `byte`
                    } else if byte == UInt8(ascii: "\"") {
                        quoteSeen = true
                        continue
                    } else {
                        field.append(byte)
                        continue
                    }
                }
                if pendingCR {
                    pendingCR = false
                    if byte == 0x0A { continue }
                }
                switch byte {
                case UInt8(ascii: "\"") where atFieldStart:
                    quoted = true
                    atFieldStart = false
                    recordHasContent = true
                case delimiter:
                    recordHasContent = true
                    try endField()
                case 0x0A:
                    try endRecord()
                case 0x0D:
                    try endRecord()
                    pendingCR = true
                default:
                    field.append(byte)
                    atFieldStart = false
                    recordHasContent = true
                }
            }
        }
        if quoteSeen { quoted = false }
        if quoted { throw DataError.badLine(path: path, line: recordLine, problem: "the record starting here ends inside a quoted field (a missing closing quote)") }
        try endRecord()
        if header { throw DataError.missingColumn(path: path, column: column, available: []) }
    }
}
