#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One token shard, memory-mapped read-only: the header checked, tokens read in place.
///
/// Opening validates magic, version and that the file size equals header + count × width, so a
/// truncated or foreign file fails at once with its name. Pages are touched only when read, so
/// opening hundreds of shards costs address space, not memory.
public final class TokenShard: @unchecked Sendable {
    /// The file this shard maps.
    public let path: String
    /// The checked header.
    public let header: ShardHeader
    private let base: UnsafeMutableRawPointer?
    private let mappedBytes: Int

    /// Tokens in the shard.
    public var count: Int { header.tokenCount }

    /// Maps `path` and checks its header against its size.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw DataError.inputMissing(path: path) }
            throw FileIO.error(path, "cannot open shard")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileIO.error(path, "cannot stat shard") }
        let size = Int(info.st_size)
        guard size >= ShardHeader.byteCount else {
            throw DataError.shardSizeMismatch(path: path, expectedBytes: ShardHeader.byteCount, actualBytes: size)
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), pointer != MAP_FAILED else {
            throw FileIO.error(path, "cannot memory-map shard")
        }
        do {
            header = try ShardHeader.decode(UnsafeRawBufferPointer(start: pointer, count: size), fileSize: size, path: path)
        } catch {
            munmap(pointer, size)
            throw error
        }
        base = pointer
        mappedBytes = size
    }

    deinit {
        if let base { munmap(base, mappedBytes) }
    }

    /// The token at `index` (0-based, after the header).
    public subscript(index: Int) -> Int32 {
        precondition(index >= 0 && index < count, "token index out of range")
        let tokens = UnsafeRawPointer(base!) + ShardHeader.byteCount
        if header.bytesPerToken == 2 {
            return Int32(UInt16(littleEndian: tokens.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
        }
        return Int32(bitPattern: UInt32(littleEndian: tokens.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
    }

    /// Copies tokens `start..<start + n` into `destination` as Int32 and returns the largest one.
    @discardableResult
    public func copy(from start: Int, count n: Int, into destination: UnsafeMutablePointer<Int32>) -> Int32 {
        precondition(start >= 0 && n >= 0 && start + n <= count, "token range out of range")
        let tokens = UnsafeRawPointer(base!) + ShardHeader.byteCount
        var largest: Int32 = 0
        if header.bytesPerToken == 2 {
            let source = tokens.assumingMemoryBound(to: UInt16.self) + start
            for i in 0..<n {
                let value = Int32(UInt16(littleEndian: source[i]))
                destination[i] = value
                largest = max(largest, value)
            }
        } else {
            let source = tokens.assumingMemoryBound(to: UInt32.self) + start
            for i in 0..<n {
                let value = Int32(bitPattern: UInt32(littleEndian: source[i]))
                destination[i] = value
                largest = max(largest, value)
            }
        }
        return largest
    }

    /// All tokens as an array (for tests and small shards).
    public func tokens() -> [Int32] {
        var out = [Int32](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { _ = copy(from: 0, count: count, into: $0.baseAddress!) }
        return out
    }
}
