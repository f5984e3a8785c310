import DataPipeline
import XCTest

/// TokenShard: llm.c files read as they are; bad sizes, magics and versions named with the fix.
final class TokenShardTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// A shard built byte by byte, the way llm.c's `write_datafile` lays it out.
    private func handmade(magic: Int32, version: Int32, count: Int32, tokenBytes: [UInt8]) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 1024)
        for (i, value) in [magic, version, count].enumerated() {
            withUnsafeBytes(of: value.littleEndian) { for k in 0..<4 { bytes[4 * i + k] = $0[k] } }
        }
        let path = directory + "/shard-\(UUID().uuidString).bin"
        try (bytes + tokenBytes).write(to: path)
        return path
    }

    func testReadsLlmcGPT2Shard() throws {
        let path = try handmade(magic: 20_240_520, version: 1, count: 3, tokenBytes: [0x50, 0xC4, 0x01, 0x00, 0xFF, 0xFF])
        let shard = try TokenShard(path: path)
        XCTAssertEqual(shard.count, 3)
        XCTAssertEqual(shard.tokens(), [50256, 1, 65535])
        XCTAssertEqual(shard[0], 50256)
    }

    func testReadsLlmcLlama3Shard() throws {
        let path = try handmade(magic: 20_240_801, version: 7, count: 2, tokenBytes: [0x00, 0xF4, 0x01, 0x00, 0x05, 0, 0, 0])
        XCTAssertEqual(try TokenShard(path: path).tokens(), [128_000, 5])
    }

    func testSizeMismatchNamesFileAndFix() throws {
        let path = try handmade(magic: 20_240_520, version: 1, count: 4, tokenBytes: [1, 0, 2, 0, 3])
        XCTAssertThrowsError(try TokenShard(path: path)) { error in
            XCTAssertEqual(error as? DataError, .shardSizeMismatch(path: path, expectedBytes: 1032, actualBytes: 1029))
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(path) && text.contains("pretrain data prepare"), text)
        }
        let short = directory + "/short.bin"
        try [UInt8](repeating: 0, count: 10).write(to: short)
        XCTAssertThrowsError(try TokenShard(path: short)) { error in
            XCTAssertEqual(error as? DataError, .shardSizeMismatch(path: short, expectedBytes: 1024, actualBytes: 10))
        }
    }

    /// A header whose int32 token count is negative (-5 here) is named as corrupt; it used to be read
    /// as 4294967291 tokens and reported as "its header promises 8589935606" bytes.
    func testANegativeTokenCountIsNamedAsSuch() throws {
        let path = try handmade(magic: 20_240_520, version: 1, count: -5, tokenBytes: [1, 0, 2, 0, 3, 0])
        XCTAssertThrowsError(try TokenShard(path: path)) { error in
            XCTAssertEqual(error as? DataError, .negativeTokenCount(path: path, count: -5))
            XCTAssertEqual("\(error)", "\(path): its header gives a negative token count (-5); the shard is corrupt, delete it and run `pretrain data prepare` again")
        }
    }

    func testWrongMagicAndVersion() throws {
        let magic = try handmade(magic: 12345, version: 1, count: 0, tokenBytes: [])
        XCTAssertThrowsError(try TokenShard(path: magic)) { error in
            XCTAssertEqual(error as? DataError, .badMagic(path: magic, found: 12345))
            XCTAssertTrue("\(error)".contains("20240520"))
        }
        let version = try handmade(magic: 20_240_520, version: 9, count: 0, tokenBytes: [])
        XCTAssertThrowsError(try TokenShard(path: version)) { error in
            XCTAssertEqual(error as? DataError, .unsupportedShardVersion(path: version, version: 9))
        }
    }

    func testMissingShard() {
        XCTAssertThrowsError(try TokenShard(path: directory + "/nope.bin")) { error in
            XCTAssertEqual(error as? DataError, .inputMissing(path: directory + "/nope.bin"))
        }
    }
}
