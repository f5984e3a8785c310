import Foundation

/// A compiled gettext catalog (`.mo`, GNU gettext's binary format): its (msgid, msgstr) pairs.
///
/// Layout (either byte order, told by the magic 0x950412de): revision, count N, offset of the
/// originals table, offset of the translations table; each table is N (length, offset) pairs of uint32
/// pointing at NUL-terminated strings. A msgid may carry a context (`context` EOT `msgid`) and a plural
/// (`singular` NUL `plural`, its msgstr the forms NUL-separated); here the context is dropped and the
/// singular and the first form kept. The entry with the empty msgid is the header; its
/// `charset=` decides how the strings are decoded (UTF-8, ASCII or ISO-8859-1).
public struct GettextCatalog {
    /// The catalog's entries in file order, header excluded: English msgid and its translation.
    public let entries: [(id: String, translation: String)]

    /// Reads and parses `path`; throws a one-line `DataError` for a file that is not a valid catalog.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError.inputMissing(path: path) }
        let bytes = [UInt8](data)
        func bad(_ problem: String) -> DataError { DataError.io(path: path, problem: "not a gettext .mo catalog: \(problem)") }
        guard bytes.count >= 20 else { throw bad("only \(bytes.count) bytes") }
        let little = bytes[0] == 0xDE && bytes[1] == 0x12 && bytes[2] == 0x04 && bytes[3] == 0x95
        let big = bytes[0] == 0x95 && bytes[1] == 0x04 && bytes[2] == 0x12 && bytes[3] == 0xDE
        guard little || big else { throw bad("bad magic") }
        func word(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= bytes.count else { throw bad("a table points past the end") }
            let b = (0..<4).map { UInt32(bytes[at + $0]) }
            return Int(little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24)
        }
        let count = try word(8), originals = try word(12), translations = try word(16)
        func raw(_ table: Int, _ i: Int) throws -> ArraySlice<UInt8> {
            let length = try word(table + 8 * i), offset = try word(table + 8 * i + 4)
            guard offset + length <= bytes.count else { throw bad("a string runs past the end") }
            return bytes[offset..<(offset + length)]
        }
        var encoding = String.Encoding.utf8
        var entries: [(String, String)] = []
        for i in 0..<count {
            let id = try raw(originals, i), translation = try raw(translations, i)
            if id.isEmpty {   // the header: find the charset
                let header = String(decoding: translation, as: UTF8.self).lowercased()
                if let range = header.range(of: "charset=") {
                    let name = header[range.upperBound...].prefix { !$0.isWhitespace && $0 != ";" }
                    switch name {
                    case "utf-8", "utf8", "ascii", "us-ascii", "charset": encoding = .utf8
                    case "iso-8859-1", "latin1", "iso8859-1": encoding = .isoLatin1
                    default: throw bad("its charset \(name) is not UTF-8 or ISO-8859-1")
                    }
                }
                continue
            }
            let singular = id.split(separator: 0, omittingEmptySubsequences: false)[0]
            let msgid = singular.split(separator: 4, maxSplits: 1, omittingEmptySubsequences: false).last!
            let first = translation.split(separator: 0, omittingEmptySubsequences: false)[0]
            guard let source = String(bytes: msgid, encoding: encoding), let target = String(bytes: first, encoding: encoding) else {
                throw bad("entry \(i) is not valid \(encoding == .utf8 ? "UTF-8" : "ISO-8859-1")")
            }
            entries.append((source, target))
        }
        self.entries = entries
    }
}
