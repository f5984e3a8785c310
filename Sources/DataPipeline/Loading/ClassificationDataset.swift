import Foundation

/// Labelled texts for fine-tuning a classifier: JSON lines `{"text": …, "label": …}`.
///
/// Labels are all names (strings) or all ids (integers). Names map to ids in the order of
/// `labelNames` when given (a test file takes its training file's names), else sorted, so the mapping
/// never depends on line order. Every problem is one `DataError` line naming the file, the line and the
/// fix: a line that is not a JSON object, a missing `text`, a label outside `numLabels`, names mixed
/// with ids, a name the given `labelNames` lack.
public struct ClassificationDataset: Equatable, Sendable {
    /// The texts, in file order.
    public let texts: [String]
    /// The label id of each text.
    public let labels: [Int32]
    /// The name of each label id (the decimal id when the file gives ids).
    public let labelNames: [String]

    /// Builds a dataset from parts (labels must be ids of `labelNames`).
    public init(texts: [String], labels: [Int32], labelNames: [String]) {
        precondition(texts.count == labels.count && labels.allSatisfy { $0 >= 0 && Int($0) < labelNames.count }, "labels outside the names")
        self.texts = texts
        self.labels = labels
        self.labelNames = labelNames
    }

    /// Reads `path`. `numLabels` (the `--labels N` the user gave) bounds integer labels and the number
    /// of names; `labelNames` fixes the name → id mapping (e.g. from the training split).
    public static func load(path: String, numLabels: Int? = nil, labelNames given: [String]? = nil) throws -> ClassificationDataset {
        var texts: [String] = [], rawLabels: [Any] = [], lines: [Int] = []
        for (lineNumber, object) in try JSONObjectLines.read(path, shape: "each line must be {\"text\": \"…\", \"label\": …}") {
            guard let text = object["text"] as? String else {
                throw DataError.invalidSetting(name: "\(path):\(lineNumber)", problem: "no \"text\" string; each line must be {\"text\": \"…\", \"label\": …}")
            }
            guard let label = object["label"], label is String || label is NSNumber else {
                throw DataError.invalidSetting(name: "\(path):\(lineNumber)", problem: "no \"label\" (a name or an integer id); each line must be {\"text\": \"…\", \"label\": …}")
            }
            texts.append(text); rawLabels.append(label); lines.append(lineNumber)
        }
        guard !texts.isEmpty else { throw DataError.invalidSetting(name: path, problem: "holds no labelled lines; each line must be {\"text\": \"…\", \"label\": …}") }
        let named = rawLabels.map { $0 is String }
        if let mixed = named.firstIndex(where: { $0 != named[0] }) {
            throw DataError.invalidSetting(name: "\(path):\(lines[mixed])", problem: "label \(rawLabels[mixed]) mixes \(named[0] ? "names" : "ids") with \(named[0] ? "ids" : "names"); use one kind throughout")
        }
        var ids: [Int32] = []
        var names: [String]
        if named[0] {
            let strings = rawLabels.map { $0 as! String }
            names = given ?? Array(Set(strings)).sorted()
            let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, Int32($0.offset)) })
            for (i, s) in strings.enumerated() {
                guard let id = index[s] else {
                    throw DataError.invalidSetting(name: "\(path):\(lines[i])", problem: "label \"\(s)\" is not one of the training labels \(names.joined(separator: ", "))")
                }
                ids.append(id)
            }
            if let n = numLabels, names.count > n {
                throw DataError.invalidSetting(name: path, problem: "has \(names.count) label names (\(names.joined(separator: ", "))) but --labels is \(n); pass --labels \(names.count)")
            }
        } else {
            let n = numLabels ?? given?.count
            for (i, raw) in rawLabels.enumerated() {
                let number = raw as! NSNumber
                let value = number.doubleValue
                guard value == value.rounded(), value >= 0, value < Double(n ?? Int(Int32.max)) else {
                    let range = n.map { "0…\($0 - 1) (--labels \($0))" } ?? "a non-negative integer"
                    throw DataError.invalidSetting(name: "\(path):\(lines[i])", problem: "label \(number) is outside \(range)")
                }
                ids.append(Int32(value))
            }
            names = (0..<(n ?? (Int(ids.max()!) + 1))).map { String($0) }
        }
        return ClassificationDataset(texts: texts, labels: ids, labelNames: names)
    }

    /// The most frequent label (the smallest id among equally frequent ones); 0 for no texts.
    public var majorityLabel: Int32 {
        var counts: [Int32: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? 0
    }

    /// The share of texts labelled `label`: the accuracy of always answering it.
    public func share(of label: Int32) -> Double {
        Double(labels.filter { $0 == label }.count) / Double(max(1, labels.count))
    }
}
