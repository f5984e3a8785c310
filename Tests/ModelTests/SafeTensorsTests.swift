import Foundation
import Model
import XCTest

/// safetensors: write → read round trip, and clear errors on damaged files.
final class SafeTensorsTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "st-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func testRoundTripKeepsNamesShapesValuesAndMetadata() throws {
        let a: [Float] = [1.5, -2, 3.25, 0, 7, 8]
        let b: [Int32] = [4, -100, 9]
        let path = dir + "/x.safetensors"
        try a.withUnsafeBytes { ab in
            try b.withUnsafeBytes { bb in
                try SafeTensors.write([.init(name: "a", dtype: .f32, shape: [2, 3], bytes: ab), .init(name: "b", dtype: .i32, shape: [3], bytes: bb)],
                                      metadata: ["k": "v"], to: path)
            }
        }
        let file = try SafeTensors(path: path)
        XCTAssertEqual(try file.floats("a"), a)
        XCTAssertEqual(try file.int32s("b"), b)
        XCTAssertEqual(try file.entry("a").shape, [2, 3])
        XCTAssertEqual(file.metadata, ["k": "v"])
        XCTAssertEqual(file.names, ["a", "b"])
        // The header length is a multiple of 8, as the reference writer pads it.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(raw.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } % 8, 0)
    }

    func testDamagedFilesNameTheFile() throws {
        let path = dir + "/bad.safetensors"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensors(path: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
        var header = Data()
        var n = UInt64(1000).littleEndian
        withUnsafeBytes(of: &n) { header.append(contentsOf: $0) }
        header.append(Data("{}".utf8))
        try header.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensors(path: path)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        XCTAssertThrowsError(try SafeTensors(path: dir + "/missing.safetensors")) { XCTAssertTrue("\($0)".contains("no such file"), "\($0)") }
    }

    func testTruncatedDataIsDetected() throws {
        let a = [Float](repeating: 1, count: 16)
        let path = dir + "/t.safetensors"
        try a.withUnsafeBytes { try SafeTensors.write([.init(name: "a", dtype: .f32, shape: [16], bytes: $0)], to: path) }
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count - 4).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensors(path: path)) { XCTAssertTrue("\($0)".contains("'a'"), "\($0)") }
    }
}
