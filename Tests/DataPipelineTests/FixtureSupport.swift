import Foundation
import XCTest

/// Paths and JSON of the committed fixtures under Tests/DataPipelineTests/Fixtures.
enum Fixtures {
    /// Absolute path of a fixture file, e.g. `path("hf-trained/tokenizer.json")`.
    static func path(_ name: String) -> String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }

    /// The fixture's JSON list of objects.
    static func list(_ name: String) throws -> [[String: Any]] {
        let data = try Foundation.Data(contentsOf: URL(fileURLWithPath: path(name)))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
    }

    /// (text, ids) cases from an `ids.json` fixture.
    static func idCases(_ name: String) throws -> [(text: String, ids: [Int32])] {
        try list(name).map { entry in
            let text = try XCTUnwrap(entry["text"] as? String)
            let ids = try XCTUnwrap(entry["ids"] as? [NSNumber]).map { Int32($0.intValue) }
            return (text, ids)
        }
    }
}

/// A fresh empty directory under the system temporary directory, removed by the caller.
func makeTemporaryDirectory(_ label: String = "datatests") throws -> String {
    let path = NSTemporaryDirectory() + "/\(label)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
