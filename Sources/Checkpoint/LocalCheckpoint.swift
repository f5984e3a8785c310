import DataPipeline
import Foundation
import Model

/// Saves a whole checkpoint from one process (world size 1): `pretrain checkpoint import`, tests and
/// benchmarks. Training runs save through the Trainer, one shard per rank, with the same format.
public enum LocalCheckpoint {
    /// What to store besides the parameters.
    public struct Options {
        public var method: ChunkCodec.Method = .zstd
        public var level = 1
        public var shuffle = true
        public var chunkElements = 1 << 20
        public var keepLast = 3
        public var config = ""
        public var tokenizer: String?
        public var dataPositions: [DataLoaderPosition] = []
        public var tokensSeen = 0
        public var optimizerStep = 0
        public init() {}
    }

    /// Writes `step` into `root` and commits it; `m`/`v` (whole buffers) are stored when given.
    /// Returns the checkpoint directory.
    @discardableResult
    public static func save(root: String, step: Int, layout: some ParameterTable, params: FlatBuffer, m: FlatBuffer?, v: FlatBuffer?,
                            options: Options = Options()) throws -> String {
        let store = CheckpointStore(root: root)
        try store.prepareStaging(step: step)
        let moments: [Range<Int>]? = (m != nil && v != nil) ? [0..<layout.count] : nil
        let segments = CheckpointPlan.segments(rank: 0, worldSize: 1, count: layout.count, moments: moments)
        // Parameters alone are written straight from `params`; with moments the three go through one
        // contiguous staging copy, in the order of `segments`.
        let staging: FlatBuffer
        if segments.count == 1, segments[0].buffer == .params, segments[0].start == 0, segments[0].count == params.count {
            staging = params
        } else {
            staging = try FlatBuffer(count: segments.reduce(0) { $0 + $1.count })
            var at = 0
            for s in segments {
                let source = s.buffer == .params ? params : s.buffer == .m ? m! : v!
                (staging.pointer + at).update(from: source.pointer + s.start, count: s.count)
                at += s.count
            }
        }
        let codec = try ChunkCodec(method: options.method, level: options.level, shuffle: options.shuffle, chunkElements: options.chunkElements)
        let file = CheckpointPlan.shardFileName(rank: 0, worldSize: 1, method: options.method)
        let result: CheckpointShardWriter.Result
        do { result = try CheckpointShardWriter.write(staging.pointer, count: staging.count, to: store.stagingDirectory(step: step) + "/" + file, codec: codec) } catch let e as CheckpointError {
            store.abandon(step: step)
            let previous = store.complete().last.map { " (the previous checkpoint \($0.path) is intact)" } ?? ""
            throw CheckpointError("checkpoint step \(step) was not saved: \(e.message)\(previous)")
        }
        let shard = CheckpointManifest.Shard(file: file, rank: 0, segments: segments, rawBytes: staging.count * 4,
                                             storedBytes: result.storedBytes, checksum: CheckpointManifest.checksumString(result.checksum))
        let tokenizerHash = try options.tokenizer.map { try Self.tokenizerHash($0) }
        let manifest = CheckpointManifest(
            step: step, tokensSeen: options.tokensSeen, worldSize: 1, zero1: false, hasOptimizerState: moments != nil,
            optimizerStep: options.optimizerStep, config: options.config, tokenizerHash: tokenizerHash,
            compression: options.method, level: options.level, shuffle: options.shuffle, chunkElements: options.chunkElements,
            layout: layout, shards: [shard], dataPositions: options.dataPositions, created: timestamp())
        return try store.commit(manifest, tokenizer: options.tokenizer, keepLast: options.keepLast)
    }

    /// "xxh64:…" of a tokenizer file.
    public static func tokenizerHash(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError("\(path): cannot read the tokenizer") }
        return CheckpointManifest.checksumString(data.withUnsafeBytes { XXH64.hash($0) })
    }

    /// Now, ISO 8601 UTC.
    public static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }
}
