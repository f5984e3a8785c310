#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Support

/// Writes a stream of tokens as numbered shards `PREFIX_000000.bin`, `PREFIX_000001.bin`, … .
///
/// Each shard holds exactly `shardTokens` tokens except the last (documents run on across shard
/// boundaries, as in llm.c's scripts). A shard is written under a hidden temporary name and
/// renamed to its final name only once its header is complete, so an interrupted run never
/// leaves a file that looks finished. uint16 tokens (version 1) unless `wideTokens`, then uint32
/// (version 2).
public final class ShardWriter {
    /// The directory shards go to.
    public let directory: String
    /// File name prefix, e.g. `train`.
    public let prefix: String
    /// Tokens per shard (the last shard may hold fewer).
    public let shardTokens: Int
    /// Whether tokens are written as uint32 (version 2) instead of uint16 (version 1).
    public let wideTokens: Bool
    /// Final paths of the shards completed so far, in order.
    public private(set) var completed: [String] = []
    /// Tokens written in all.
    public private(set) var totalTokens = 0

    private var fd: Int32 = -1
    private var temporaryPath = ""
    private var inShard = 0
    private var buffer: [UInt8] = []

    /// A writer; nothing is created until the first token arrives.
    public init(directory: String, prefix: String, shardTokens: Int, wideTokens: Bool) throws {
        guard shardTokens > 0 else {
            throw DataError.invalidSetting(name: "--shard-tokens", problem: "must be positive, got \(shardTokens)")
        }
        self.directory = directory
        self.prefix = prefix
        self.shardTokens = shardTokens
        self.wideTokens = wideTokens
        buffer.reserveCapacity(1 << 20)
    }

    deinit {
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    /// The final path of shard number `index`.
    public func path(ofShard index: Int) -> String {
        let digits = String(index)
        return directory + "/" + prefix + "_" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".bin"
    }

    /// Appends tokens, starting and finishing shards as they fill.
    public func append(_ tokens: UnsafeBufferPointer<Int32>) throws {
        var index = 0
        while index < tokens.count {
            if fd < 0 { try openShard() }
            let take = min(tokens.count - index, shardTokens - inShard)
            for token in tokens[index..<index + take] {
                let value = UInt32(bitPattern: token)
                if !wideTokens {
                    precondition(value <= 0xFFFF, "token \(token) does not fit a uint16 shard")
                    buffer.append(UInt8(truncatingIfNeeded: value))
                    buffer.append(UInt8(truncatingIfNeeded: value >> 8))
                } else {
                    for k in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(k)))) }
                }
            }
            if buffer.count >= 1 << 20 { try flush() }
            inShard += take
            totalTokens += take
            index += take
            if inShard == shardTokens { try closeShard() }
        }
    }

    /// Appends tokens from an array.
    public func append(_ tokens: [Int32]) throws {
        try tokens.withUnsafeBufferPointer { try append($0) }
    }

    /// Completes the last, partly filled shard and returns every shard path in order.
    @discardableResult
    public func finish() throws -> [String] {
        if fd >= 0 { try closeShard() }
        return completed
    }

    private func openShard() throws {
        let finalPath = path(ofShard: completed.count)
        temporaryPath = AtomicFile.temporaryName(for: finalPath)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileIO.error(finalPath, "cannot create shard") }
        inShard = 0
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: ShardHeader(tokenCount: 0, wideTokens: wideTokens).encoded())
    }

    private func flush() throws {
        let ok = buffer.withUnsafeBytes { AtomicFile.writeAll(fd, $0) }
        buffer.removeAll(keepingCapacity: true)
        guard ok else { throw FileIO.error(path(ofShard: completed.count), "cannot write shard (disk full?)") }
    }

    private func closeShard() throws {
        try flush()
        let finalPath = path(ofShard: completed.count)
        let header = ShardHeader(tokenCount: inShard, wideTokens: wideTokens).encoded()
        let written = header.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, 0) }
        close(fd)
        fd = -1
        guard written == header.count else {
            unlink(temporaryPath)
            throw FileIO.error(finalPath, "cannot write shard header")
        }
        try FileIO.move(temporaryPath, to: finalPath)
        completed.append(finalPath)
    }
}
