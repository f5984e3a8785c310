import Foundation

extension TextPredictor {
    /// The texts of a JSON-lines file for `pretrain predict --input-file`: one `{"text": …}` object (or
    /// one JSON string) per line, blank lines skipped; a bad line is a one-line error naming file:line.
    public static func texts(inputFile path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError("--input-file \(path): no such file; give a JSON-lines file with one {\"text\": …} per line", exitCode: 2)
        }
        var texts: [String] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let value = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
            guard let text = (value as? [String: Any])?["text"] as? String ?? value as? String else {
                throw TrainingError("\(path):\(index + 1): not a JSON object with a \"text\" string; write one {\"text\": \"…\"} per line", exitCode: 2)
            }
            texts.append(text)
        }
        return texts
    }
}
