import DataPipeline
import XCTest

/// ShardWriter: shards written, read back, headers checked byte by byte, no temporary files left.
final class ShardWriterTests: XCTestCase {
    /// Reads little-endian int32 word `i` of a file's bytes.
    private func word(_ bytes: [UInt8], _ i: Int) -> Int {
        Int(Int32(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24))
    }

    func testUInt16ShardsRoundTripWithLlmcHeaders() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try ShardWriter(directory: directory, prefix: "train", shardTokens: 1000, wideTokens: false)
        let tokens = (0..<2500).map { Int32(($0 * 7919) % 65_536) }
        try writer.append(Array(tokens[0..<123]))
        try writer.append(Array(tokens[123...]))
        let paths = try writer.finish()
        XCTAssertEqual(paths.map { ($0 as NSString).lastPathComponent }, ["train_000000.bin", "train_000001.bin", "train_000002.bin"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
                       ["train_000000.bin", "train_000001.bin", "train_000002.bin"])
        var readBack: [Int32] = []
        for (index, path) in paths.enumerated() {
            let bytes = [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: path)))
            let count = index < 2 ? 1000 : 500
            XCTAssertEqual(word(bytes, 0), 20_240_520)
            XCTAssertEqual(word(bytes, 1), 1)
            XCTAssertEqual(word(bytes, 2), count)
            XCTAssertTrue((3..<256).allSatisfy { word(bytes, $0) == 0 })
            XCTAssertEqual(bytes.count, 1024 + 2 * count)
            for i in 0..<count {
                readBack.append(Int32(bytes[1024 + 2 * i]) | Int32(bytes[1024 + 2 * i + 1]) << 8)
            }
            let shard = try TokenShard(path: path)
            XCTAssertEqual(shard.header.version, 1)
            XCTAssertEqual(shard.tokens(), Array(tokens[(index * 1000)..<(index * 1000 + count)]))
        }
        XCTAssertEqual(readBack, tokens)
    }

    func testUInt32VariantForLargeVocabularies() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try ShardWriter(directory: directory, prefix: "val", shardTokens: 100, wideTokens: true)
        let tokens: [Int32] = [0, 65_535, 65_536, 100_000, 128_255, 7]
        try writer.append(tokens)
        let paths = try writer.finish()
        let bytes = [UInt8](try Foundation.Data(contentsOf: URL(fileURLWithPath: paths[0])))
        XCTAssertEqual(word(bytes, 0), 20_240_520)
        XCTAssertEqual(word(bytes, 1), 2)
        XCTAssertEqual(word(bytes, 2), tokens.count)
        XCTAssertEqual(bytes.count, 1024 + 4 * tokens.count)
        XCTAssertEqual(try TokenShard(path: paths[0]).tokens(), tokens)
    }

    func testNothingWrittenLeavesNoShard() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try ShardWriter(directory: directory, prefix: "train", shardTokens: 10, wideTokens: false)
        XCTAssertEqual(try writer.finish(), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    func testAbandonedWriterRemovesItsTemporaryFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let writer = try ShardWriter(directory: directory, prefix: "train", shardTokens: 10, wideTokens: false)
            try writer.append([1, 2, 3])  // a partial shard, never finished
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }
}
