/// The 1024-byte header of a token shard, llm.c's format: 256 little-endian int32 words.
///
/// Word 0 is the magic, word 1 the version, word 2 the token count; the rest are zero. Tokens
/// follow the header, little-endian:
///
/// | magic    | version | tokens | written by                                             |
/// |----------|---------|--------|--------------------------------------------------------|
/// | 20240520 | 1       | uint16 | llm.c's GPT-2 scripts and `pretrain data prepare`      |
/// | 20240520 | 2       | uint32 | `pretrain data prepare` when the vocabulary > 65,535   |
/// | 20240801 | 7       | uint32 | llm.c's Llama-3 scripts (read only)                    |
public struct ShardHeader: Equatable, Sendable {
    /// llm.c's magic number for token shards.
    public static let magic: Int32 = 20_240_520
    /// llm.c's magic number for its Llama-3 (uint32) shards.
    public static let llamaMagic: Int32 = 20_240_801
    /// Header size in bytes.
    public static let byteCount = 1024

    /// The magic number.
    public var magic: Int32
    /// The format version (decides the token width).
    public var version: Int32
    /// Tokens after the header.
    public var tokenCount: Int

    /// Bytes per token: 2 for version 1, 4 for versions 2 and 7.
    public var bytesPerToken: Int { version == 1 ? 2 : 4 }

    /// The header for a new shard: version 1 (uint16) or 2 (uint32).
    public init(tokenCount: Int, wideTokens: Bool) {
        magic = Self.magic
        version = wideTokens ? 2 : 1
        self.tokenCount = tokenCount
    }

    /// The 1024 header bytes.
    public func encoded() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.byteCount)
        for (word, value) in [magic, version, Int32(truncatingIfNeeded: tokenCount)].enumerated() {
            let bits = UInt32(bitPattern: value)
            for k in 0..<4 { bytes[word * 4 + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
        }
        return bytes
    }

    /// Reads and checks a header from the start of a shard of `fileSize` bytes named `path`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, fileSize: Int, path: String) throws -> ShardHeader {
        guard bytes.count >= byteCount else {
            throw DataError.shardSizeMismatch(path: path, expectedBytes: byteCount, actualBytes: fileSize)
        }
        func word(_ i: Int) -> Int32 {
            Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        }
        let magic = word(0), version = word(1)
        switch (magic, version) {
        case (Self.magic, 1), (Self.magic, 2), (Self.llamaMagic, 7): break
        case (Self.magic, _), (Self.llamaMagic, _):
            throw DataError.unsupportedShardVersion(path: path, version: version)
        default:
            throw DataError.badMagic(path: path, found: magic)
        }
        let count = Int(UInt32(bitPattern: word(2)))
        let header = ShardHeader(magic: magic, version: version, tokenCount: count)
        let expected = byteCount + count * header.bytesPerToken
        guard expected == fileSize else {
            // llm.c writes the count as an int32: a negative one is corruption, not 4 G tokens to expect.
            if word(2) < 0 { throw DataError.negativeTokenCount(path: path, count: word(2)) }
            throw DataError.shardSizeMismatch(path: path, expectedBytes: expected, actualBytes: fileSize)
        }
        return header
    }

    private init(magic: Int32, version: Int32, tokenCount: Int) {
        self.magic = magic
        self.version = version
        self.tokenCount = tokenCount
    }
}
