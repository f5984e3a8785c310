import Foundation

/// The objects of a small JSON-lines file read whole (labelled texts, seq2seq pairs): blank lines
/// skipped, a line that is not a JSON object one `DataError` naming the file and line.
enum JSONObjectLines {
    /// Each non-blank line's number (from 1) and object; `shape` says what a line must look like.
    static func read(_ path: String, shape: String) throws -> [(line: Int, object: [String: Any])] {
        let bytes = try FileIO.readAll(path)
        var objects: [(line: Int, object: [String: Any])] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw DataError.invalidSetting(name: "\(path):\(lineNumber)", problem: "not a JSON object; \(shape)")
            }
            objects.append((lineNumber, object))
        }
        return objects
    }
}
