import Foundation

/// Source/target text pairs for sequence-to-sequence training and evaluation, the one reader of pair
/// files (fine-tuning, `pretrain eval`, the Transformer's `PairShard`): JSON lines
/// `{"source": …, "target": …}` (the field names are settable, e.g. `{"en": …, "de": …}` or
/// `{"document": …, "summary": …}`). Token rows are fitted to their limits by `PairFitting`.
///
/// Blank lines are skipped. Every problem is one `DataError` line naming the file, the line and the
/// fix: a line that is not a JSON object, a missing or non-string field, an empty target (the model
/// would learn to stop at once); a file without pairs.
public struct Seq2SeqPairs: Equatable, Sendable {
    /// The source texts, in file order.
    public let sources: [String]
    /// The target text of each source.
    public let targets: [String]
    /// The 1-based line of the file each pair came from (for messages).
    public let lines: [Int]
    /// The file the pairs were read from ("" when built in memory).
    public let path: String

    /// Pairs built in memory (lines numbered from 1).
    public init(sources: [String], targets: [String], path: String = "") {
        precondition(sources.count == targets.count, "one target per source")
        self.sources = sources
        self.targets = targets
        self.lines = (0..<sources.count).map { $0 + 1 }
        self.path = path
    }

    private init(sources: [String], targets: [String], lines: [Int], path: String) {
        (self.sources, self.targets, self.lines, self.path) = (sources, targets, lines, path)
    }

    /// The number of pairs.
    public var count: Int { sources.count }

    /// The field names of `--fields SOURCE,TARGET` (two different non-empty names).
    public static func fields(_ spec: String) throws -> (source: String, target: String) {
        let names = spec.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard names.count == 2, !names[0].isEmpty, !names[1].isEmpty, names[0] != names[1] else {
            throw DataError.invalidSetting(name: "--fields '\(spec)'", problem: "give two different JSON field names, SOURCE,TARGET (e.g. source,target or en,de)")
        }
        return (names[0], names[1])
    }

    /// Reads `path`, taking the source from `sourceField` and the target from `targetField`; a message
    /// about a missing field suggests `fieldsOption` (how the user names the fields; nil: not settable).
    public static func load(path: String, sourceField: String = "source", targetField: String = "target",
                            fieldsOption: String? = "--fields SOURCE,TARGET") throws -> Seq2SeqPairs {
        let shape = "each line must be {\"\(sourceField)\": \"…\", \"\(targetField)\": \"…\"}"
        var sources: [String] = [], targets: [String] = [], lines: [Int] = []
        for (lineNumber, object) in try JSONObjectLines.read(path, shape: shape) {
            var texts: [String] = []
            for field in [sourceField, targetField] {
                guard let text = object[field] as? String else {
                    let found = object.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
                    throw DataError.invalidSetting(name: "\(path):\(lineNumber)", problem: "no \"\(field)\" string (the line has \(found.isEmpty ? "no fields" : found)); \(shape)\(fieldsOption.map { ", or name the fields with \($0)" } ?? "")")
                }
                texts.append(text)
            }
            guard !texts[1].isEmpty else {
                throw DataError.invalidSetting(name: "\(path):\(lineNumber)", problem: "the \"\(targetField)\" is empty; a pair needs a target to learn (remove the line)")
            }
            sources.append(texts[0]); targets.append(texts[1]); lines.append(lineNumber)
        }
        guard !sources.isEmpty else { throw DataError.invalidSetting(name: path, problem: "holds no pairs; \(shape)") }
        return Seq2SeqPairs(sources: sources, targets: targets, lines: lines, path: path)
    }
}
