import Foundation

/// Reads the text field of JSON lines (one object per line, as Hugging Face `datasets` exports
/// them), or of a JSON array of objects.
///
/// A line that is not a JSON object, or lacks the field, throws `DataError.badLine` with the
/// file and line number, unless bad lines are skipped (then they are counted). A `null` field
/// is no document; blank lines are ignored.
struct JSONLinesReader {
    let path: String
    let field: String
    let skipBadLines: Bool

    /// Calls `body` with each document's UTF-8 bytes, in file order; returns the lines skipped.
    func read(_ body: ([UInt8]) throws -> Void) throws -> Int {
        let reader = try ChunkReader(path: path)
        var skipped = 0
        var carry: [UInt8] = []
        var lineNumber = 0
        var first = true
        var arrayText: [UInt8]? = nil
        while let chunk = try reader.next() {
            if first, let start = chunk.first(where: { !Self.isSpace($0) }) {
                first = false
                if start == UInt8(ascii: "[") { arrayText = [] }
            }
            if arrayText != nil {
                arrayText! += chunk
                continue
            }
            carry += chunk
            var lineStart = 0
            while let newline = carry[lineStart...].firstIndex(of: 0x0A) {
                lineNumber += 1
                skipped += try handle(carry[lineStart..<newline], line: lineNumber, body)
                lineStart = newline + 1
            }
            carry.removeSubrange(0..<lineStart)
        }
        if let arrayText { return try readArray(arrayText, body) }
        if !carry.isEmpty {
            lineNumber += 1
            skipped += try handle(carry[...], line: lineNumber, body)
        }
        return skipped
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// Parses one line; returns 1 when it was bad and skipped.
    private func handle(_ line: ArraySlice<UInt8>, line number: Int, _ body: ([UInt8]) throws -> Void) throws -> Int {
        guard line.contains(where: { !Self.isSpace($0) }) else { return 0 }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Foundation.Data(line), options: [])
        } catch {
            return try bad(number, "not valid JSON")
        }
        return try take(object, number, body)
    }

    private func take(_ object: Any, _ number: Int, _ body: ([UInt8]) throws -> Void) throws -> Int {
        guard let record = object as? [String: Any] else { return try bad(number, "not a JSON object") }
        guard let value = record[field] else {
            let keys = record.keys.sorted().prefix(8).joined(separator: ", ")
            return try bad(number, "no field \"\(field)\" (fields: \(keys)); pass --text-field with the right name")
        }
        if value is NSNull { return 0 }
        guard let text = value as? String else { return try bad(number, "field \"\(field)\" is not a string") }
        try body(Array(text.utf8))
        return 0
    }

    private func bad(_ number: Int, _ problem: String) throws -> Int {
        if skipBadLines { return 1 }
        throw DataError.badLine(path: path, line: number, problem: problem)
    }

    /// A `.json` file holding one array of objects; "line" numbers are then element numbers.
    private func readArray(_ text: [UInt8], _ body: ([UInt8]) throws -> Void) throws -> Int {
        guard let array = try? JSONSerialization.jsonObject(with: Foundation.Data(text), options: []) as? [Any] else {
            throw DataError.badLine(path: path, line: 1, problem: "a file starting with [ must be one JSON array of objects")
        }
        var skipped = 0
        for (index, element) in array.enumerated() { skipped += try take(element, index + 1, body) }
        return skipped
    }
}
