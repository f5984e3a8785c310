import Foundation

/// Opens a complete checkpoint and reads any ranges of its buffers, verifying every shard it touches.
///
/// Any number of ranks can load a checkpoint written by any number of ranks: a reader asks for flat-
/// buffer ranges (`Request`), and every shard holding part of them is decoded whole, checked against
/// its size and XXH64 checksum, and the overlapping values are copied out.
public struct CheckpointReader {
    /// A range of one buffer to fill.
    public struct Request {
        public var buffer: CheckpointManifest.Buffer
        public var range: Range<Int>
        /// Receives `range.count` values.
        public var destination: UnsafeMutablePointer<Float>
        public init(buffer: CheckpointManifest.Buffer, range: Range<Int>, destination: UnsafeMutablePointer<Float>) {
            self.buffer = buffer; self.range = range; self.destination = destination
        }
    }

    /// The directory actually opened (`.../step-NNNNNNNN`).
    public let directory: String
    /// The parsed manifest.
    public let manifest: CheckpointManifest

    /// Opens `path`: a `step-NNNNNNNN` directory, or a checkpoint root, in which case the newest
    /// complete checkpoint in it.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CheckpointError("\(path): no such checkpoint directory; check the path (or checkpoint.dir)")
        }
        guard isDirectory.boolValue else { throw CheckpointError("\(path) is a file, not a checkpoint directory; give a step-NNNNNNNN directory or checkpoint.dir") }
        var dir = path
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        if !FileManager.default.fileExists(atPath: dir + "/manifest.json") {
            guard let newest = CheckpointStore(root: dir).complete().last else {
                throw CheckpointError("\(path) is not a checkpoint: no manifest.json, and no complete step-NNNNNNNN checkpoint in it")
            }
            dir = newest.path
        }
        directory = dir
        manifest = try Self.loadManifest(dir + "/manifest.json")
        // A manifest copied or edited into another step's directory would resume at the wrong step.
        let name = (dir as NSString).lastPathComponent
        if name.hasPrefix("step-"), let named = Int(name.dropFirst(5)), named != manifest.step {
            throw CheckpointError("\(dir)/manifest.json says step \(manifest.step) but its directory is \(name): the manifest belongs to another "
                                  + "checkpoint or was edited; use an older checkpoint")
        }
    }

    static func loadManifest(_ file: String) throws -> CheckpointManifest {
        guard let data = FileManager.default.contents(atPath: file) else { throw CheckpointError("\(file): cannot be read") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError("\(file) is not JSON; the checkpoint is corrupt (use an older one)")
        }
        let version = object["formatVersion"] as? Int ?? 0
        guard version <= CheckpointManifest.currentFormatVersion else {
            throw CheckpointError("\(file) has checkpoint format version \(version), newer than this pretrain reads (up to \(CheckpointManifest.currentFormatVersion)); upgrade pretrain to load it")
        }
        guard version >= 1 else { throw CheckpointError("\(file) has no valid formatVersion; it is not a pretrain checkpoint manifest") }
        do { return try JSONDecoder().decode(CheckpointManifest.self, from: data) } catch {
            throw CheckpointError("\(file) is not a valid manifest (\(Self.describe(error))); the checkpoint is corrupt (use an older one)")
        }
    }

    static func describe(_ error: Error) -> String {
        if case let DecodingError.keyNotFound(key, _) = error { return "missing key \(key.stringValue)" }
        if case let DecodingError.typeMismatch(_, context) = error { return "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))" }
        if case let DecodingError.dataCorrupted(context) = error { return "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))" }
        return "\(error)"
    }

    /// Path of the tokenizer.json saved inside the checkpoint directory, if the run had one.
    public var tokenizerPath: String? {
        let path = directory + "/tokenizer.json"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Reads the whole flat parameter buffer (every shard, any world size), verifying checksums.
    public func readParameters(into buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard buffer.count == manifest.parameterCount else {
            throw CheckpointError("\(directory) holds \(manifest.parameterCount) parameters but the buffer has \(buffer.count); the model config differs from the checkpoint's")
        }
        try read([Request(buffer: .params, range: 0..<buffer.count, destination: buffer.baseAddress!)])
    }

    /// Fills every request from the shards that overlap it; throws if the checkpoint does not hold
    /// all of a request, or if a touched shard is missing, truncated or fails its checksum.
    public func read(_ requests: [Request]) throws {
        var covered = [Int](repeating: 0, count: requests.count)
        for shard in manifest.shards {
            var copies: [(stream: Int, count: Int, destination: UnsafeMutablePointer<Float>)] = []
            var offset = 0
            for segment in shard.segments {
                for (i, request) in requests.enumerated() where request.buffer == segment.buffer {
                    let part = segment.range.clamped(to: request.range)
                    guard !part.isEmpty else { continue }
                    copies.append((offset + part.lowerBound - segment.start, part.count,
                                   request.destination + (part.lowerBound - request.range.lowerBound)))
                    covered[i] += part.count
                }
                offset += segment.count
            }
            if !copies.isEmpty { try decode(shard, copies: copies.sorted { $0.stream < $1.stream }) }
        }
        for (i, request) in requests.enumerated() where covered[i] != request.range.count {
            let what = request.buffer == .params ? "parameters" : "AdamW moment \(request.buffer.rawValue)"
            throw CheckpointError("\(directory) does not hold all \(what) in \(request.range) (\(covered[i]) of \(request.range.count) values)\(manifest.hasOptimizerState ? "; the manifest is inconsistent" : ": it has no optimizer state")")
        }
    }

    /// Decodes every shard and checks sizes and checksums; returns the shards checked.
    @discardableResult
    public func verify() throws -> [CheckpointManifest.Shard] {
        for shard in manifest.shards { try decode(shard, copies: []) }
        try verifyTokenizer()
        return manifest.shards
    }

    /// The tokenizer.json the manifest records (by checksum) is there and unchanged.
    public func verifyTokenizer() throws {
        guard let expected = manifest.tokenizerHash else { return }
        let path = directory + "/tokenizer.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(path): missing, but the manifest records one (\(expected)); copy the run's tokenizer back or use an older checkpoint")
        }
        let actual = CheckpointManifest.checksumString(data.withUnsafeBytes { XXH64.hash($0) })
        guard actual == expected else {
            throw CheckpointError("\(path) has checksum \(actual) but the manifest says \(expected): the file was changed or is corrupt; "
                                  + "restore the run's tokenizer.json or use an older checkpoint")
        }
    }

    /// Decodes one shard, copying `copies` (sorted by stream offset) out of it, and checks it.
    func decode(_ shard: CheckpointManifest.Shard, copies: [(stream: Int, count: Int, destination: UnsafeMutablePointer<Float>)]) throws {
        let path = directory + "/" + shard.file
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError("\(path): cannot open (\(String(cString: strerror(errno)))); the checkpoint is incomplete") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointError("\(path): cannot stat") }
        let size = Int(info.st_size)
        guard size == shard.storedBytes else {
            throw CheckpointError("\(path) is \(size) bytes but the manifest says \(shard.storedBytes): the file is truncated or corrupt; use an older checkpoint")
        }
        let values = shard.rawBytes / 4
        let codec = try ChunkCodec(method: manifest.compression, level: manifest.compression == .zstd ? max(1, min(manifest.level, 19)) : 1,
                                   shuffle: manifest.shuffle, chunkElements: manifest.chunkElements)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: manifest.chunkElements)
        defer { scratch.deallocate() }
        var hash = XXH64()
        var position = 0
        var consumed = 0
        var next = 0
        if size > 0 {
            guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
                throw CheckpointError("\(path): cannot map (\(String(cString: strerror(errno))))")
            }
            defer { munmap(map, size) }
            let base = UnsafeRawPointer(map)
            while position < values {
                let n = min(manifest.chunkElements, values - position)
                do {
                    consumed += try codec.decode(UnsafeRawBufferPointer(start: base + consumed, count: size - consumed), expected: n, into: scratch).bytes
                } catch let error as CheckpointError {
                    throw CheckpointError("\(path) \(error.message) at byte \(consumed): the file is corrupt; use an older checkpoint")
                }
                hash.update(UnsafeRawBufferPointer(start: UnsafeRawPointer(scratch), count: n * 4))
                let end = position + n
                var k = next
                while k < copies.count, copies[k].stream < end {
                    let c = copies[k]
                    let lo = max(c.stream, position), hi = min(c.stream + c.count, end)
                    if lo < hi { (c.destination + (lo - c.stream)).update(from: scratch + (lo - position), count: hi - lo) }
                    if c.stream + c.count <= end { if k == next { next += 1 } }
                    k += 1
                }
                position = end
            }
        }
        guard position == values, consumed == size else {
            throw CheckpointError("\(path) holds \(consumed) bytes of data but is \(size) bytes long: the file is corrupt; use an older checkpoint")
        }
        let sum = CheckpointManifest.checksumString(hash.digest())
        guard sum == shard.checksum else {
            throw CheckpointError("\(path) fails its checksum (\(sum), manifest \(shard.checksum)): the file is corrupt; use an older checkpoint")
        }
    }
}
