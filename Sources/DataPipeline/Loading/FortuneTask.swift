import Foundation
import Support

/// A labelled task built from Debian's `fortunes` with no download: which file (computers, science,
/// love, food, …) a fortune comes from.
///
/// Each category file is split into fortunes at lines holding only `%`; whitespace is trimmed and
/// empty fortunes dropped, as are texts that appear in more than one category (their label would be
/// ambiguous). A fortune goes to the test split when a hash of (seed, text) falls below
/// `testFraction`, so the split is deterministic and independent of file order. Label ids are the
/// category names sorted, the order `ClassificationDataset.load` (and so `pretrain finetune`) gives
/// names, so that id k means the same category in the files, in labels.txt and in the model.
public enum FortuneTask {
    /// Builds the train and test splits from `directory`'s category files.
    public static func build(directory: String, categories: [String], testFraction: Double = 0.2, seed: UInt64 = 0) throws
        -> (train: ClassificationDataset, test: ClassificationDataset) {
        guard categories.count >= 2 else {
            throw DataError.invalidSetting(name: "--categories", problem: "needs at least two fortune files, got \(categories.count); e.g. computers,science,love,food")
        }
        guard testFraction > 0, testFraction < 1 else {
            throw DataError.invalidSetting(name: "--test-fraction", problem: "must be between 0 and 1, got \(testFraction)")
        }
        let categories = categories.sorted()
        var seen: [String: Int] = [:]
        var fortunes: [(text: String, label: Int)] = []
        for (label, category) in categories.enumerated() {
            let path = directory + "/" + category
            guard FileManager.default.fileExists(atPath: path) else {
                let available = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                    .filter { !$0.contains(".") }.sorted().joined(separator: ", ")
                throw DataError.invalidSetting(name: "--categories", problem: "\(category): no file \(path); available: \(available.isEmpty ? "none (is the fortunes package installed?)" : available)")
            }
            for fortune in try split(path) {
                if let other = seen[fortune] {
                    if other != label { seen[fortune] = -1 }
                    continue
                }
                seen[fortune] = label
                fortunes.append((fortune, label))
            }
        }
        var train: ([String], [Int32]) = ([], []), test: ([String], [Int32]) = ([], [])
        for f in fortunes where seen[f.text] == f.label {
            if unit(hash(f.text, seed)) < testFraction {
                test.0.append(f.text); test.1.append(Int32(f.label))
            } else {
                train.0.append(f.text); train.1.append(Int32(f.label))
            }
        }
        return (ClassificationDataset(texts: train.0, labels: train.1, labelNames: categories),
                ClassificationDataset(texts: test.0, labels: test.1, labelNames: categories))
    }

    /// A pretraining corpus with no test text in it: every fortune of every fortune file in
    /// `directory` (files without a dot in their name, as `fortune` reads them), except those in
    /// `excluding`, separated by `%` lines. Pretraining on it and then testing on `excluding` measures
    /// transfer, not memorisation. Returns the corpus and the number of fortunes left out.
    public static func corpus(directory: String, excluding: Set<String>) throws -> (text: String, excluded: Int) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.contains(".") }.sorted()
        var kept: [String] = [], excluded = 0
        for name in names {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            for fortune in try split(directory + "/" + name) {
                if excluding.contains(fortune) { excluded += 1 } else { kept.append(fortune) }
            }
        }
        return (kept.joined(separator: "\n%\n") + "\n", excluded)
    }

    /// The fortunes of one file: the text between lines holding only `%`, trimmed, empty ones dropped.
    static func split(_ path: String) throws -> [String] {
        let text = String(decoding: try FileIO.readAll(path), as: UTF8.self)
        var fortunes: [String] = [], current: [Substring] = []
        func flush() {
            let fortune = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            current.removeAll()
            if !fortune.isEmpty { fortunes.append(fortune) }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces) == "%" { flush() } else { current.append(line) }
        }
        flush()
        return fortunes
    }

    /// The dataset as JSON lines `{"label": name, "text": …}`, one per text.
    public static func jsonLines(_ dataset: ClassificationDataset) throws -> String {
        var out = ""
        for (text, label) in zip(dataset.texts, dataset.labels) {
            let object: [String: Any] = ["text": text, "label": dataset.labelNames[Int(label)]]
            out += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
        }
        return out
    }

    /// FNV-1a over the UTF-8 bytes, folded with the seed through SplitMix64.
    static func hash(_ text: String, _ seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        var mixer = SplitMix64(seeds: seed, h)
        return mixer.next()
    }

    static func unit(_ h: UInt64) -> Double { Double(h >> 11) * (1.0 / 9_007_199_254_740_992.0) }
}
