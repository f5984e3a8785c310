import DataPipeline
import Foundation
import XCTest

/// Fine-tuning data: JSON lines with names or ids, a fixed name → id mapping, one-line errors.
final class ClassificationDatasetTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "cls-\(UUID().uuidString).jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testNamesMapSortedAndTestSplitTakesTheTrainingNames() throws {
        let train = try write("{\"text\": \"a byte\", \"label\": \"computers\"}\n\n{\"text\": \"a kiss\", \"label\": \"love\"}\n{\"text\": \"an atom\", \"label\": \"science\"}\n{\"text\": \"bits\", \"label\": \"computers\"}\n")
        let d = try ClassificationDataset.load(path: train, numLabels: 3)
        XCTAssertEqual(d.texts, ["a byte", "a kiss", "an atom", "bits"])
        XCTAssertEqual(d.labelNames, ["computers", "love", "science"], "sorted, whatever the line order")
        XCTAssertEqual(d.labels, [0, 1, 2, 0])
        let test = try write("{\"text\": \"hugs\", \"label\": \"love\"}\n")
        XCTAssertEqual(try ClassificationDataset.load(path: test, labelNames: d.labelNames).labels, [1])
        let ids = try write("{\"text\": \"x\", \"label\": 2}\n{\"text\": \"y\", \"label\": 0}\n")
        let numeric = try ClassificationDataset.load(path: ids, numLabels: 4)
        XCTAssertEqual(numeric.labels, [2, 0])
        XCTAssertEqual(numeric.labelNames, ["0", "1", "2", "3"])
    }

    func testBadLinesAreOneLineErrorsNamingFileAndLine() throws {
        func message(_ text: String, numLabels: Int? = nil, names: [String]? = nil) throws -> String {
            let path = try write(text)
            do { _ = try ClassificationDataset.load(path: path, numLabels: numLabels, labelNames: names); return "" } catch {
                return "\(error)".replacingOccurrences(of: path, with: "FILE")
            }
        }
        XCTAssertEqual(try message("{\"label\": 1}\n", numLabels: 2), "FILE:1: no \"text\" string; each line must be {\"text\": \"…\", \"label\": …}")
        XCTAssertEqual(try message("{\"text\": \"a\", \"label\": 0}\nnot json\n"), "FILE:2: not a JSON object; each line must be {\"text\": \"…\", \"label\": …}")
        XCTAssertEqual(try message("{\"text\": \"a\", \"label\": 5}\n", numLabels: 3), "FILE:1: label 5 is outside 0…2 (--labels 3)")
        XCTAssertEqual(try message("{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": 1}\n"), "FILE:2: label 1 mixes names with ids; use one kind throughout")
        XCTAssertEqual(try message("{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": \"y\"}\n", numLabels: 1),
                       "FILE: has 2 label names (x, y) but --labels is 1; pass --labels 2")
        XCTAssertEqual(try message("{\"text\": \"a\", \"label\": \"z\"}\n", names: ["x", "y"]), "FILE:1: label \"z\" is not one of the training labels x, y")
        XCTAssertEqual(try message("{\"text\": \"a\"}\n"), "FILE:1: no \"label\" (a name or an integer id); each line must be {\"text\": \"…\", \"label\": …}")
    }
}
