import DataPipeline
import Model

/// The `manifest.json` of a checkpoint: everything needed to load it on any number of ranks.
///
/// Format version 1 (README, "Checkpoint format"). The shards hold ranges of three flat buffers with
/// the `GPTLayout` of the model: the parameters, and AdamW's first and second moments. Each
/// shard's bytes are the concatenation of its `segments`' float32 values, cut into chunks of
/// `chunkElements` values, each chunk byte-plane shuffled (when `shuffle`) and stored as one zstd frame
/// (or raw with compression `none`). `checksum` is the XXH64 of the uncompressed, unshuffled bytes.
public struct CheckpointManifest: Codable, Equatable, Sendable {
    /// The format version this build writes and the newest it reads.
    public static let currentFormatVersion = 1

    /// One of the flat buffers a shard holds a range of.
    public enum Buffer: String, Codable, Sendable {
        /// Model parameters.
        case params
        /// AdamW first moment.
        case m
        /// AdamW second moment.
        case v
    }

    /// A contiguous range of one flat buffer, stored in a shard.
    public struct Segment: Codable, Equatable, Sendable {
        public var buffer: Buffer
        /// First element in the flat buffer.
        public var start: Int
        /// Number of elements.
        public var count: Int
        public init(buffer: Buffer, start: Int, count: Int) { self.buffer = buffer; self.start = start; self.count = count }
        /// The flat-buffer range.
        public var range: Range<Int> { start..<(start + count) }
    }

    /// One shard file.
    public struct Shard: Codable, Equatable, Sendable {
        /// File name inside the checkpoint directory.
        public var file: String
        /// The rank that wrote it.
        public var rank: Int
        /// What it holds, in storage order.
        public var segments: [Segment]
        /// Uncompressed bytes (4 × the values of all segments).
        public var rawBytes: Int
        /// Bytes of the file.
        public var storedBytes: Int
        /// "xxh64:<16 hex digits>" of the uncompressed bytes.
        public var checksum: String
        public init(file: String, rank: Int, segments: [Segment], rawBytes: Int, storedBytes: Int, checksum: String) {
            self.file = file; self.rank = rank; self.segments = segments
            self.rawBytes = rawBytes; self.storedBytes = storedBytes; self.checksum = checksum
        }
    }

    /// One tensor of the model (the `GPTLayout` table).
    public struct Tensor: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var dtype: String
        /// First element in the flat buffers.
        public var offset: Int
        public init(name: String, shape: [Int], dtype: String = "F32", offset: Int) {
            self.name = name; self.shape = shape; self.dtype = dtype; self.offset = offset
        }
    }

    public var formatVersion: Int
    /// Optimizer steps completed.
    public var step: Int
    /// Training tokens consumed by all ranks together.
    public var tokensSeen: Int
    /// Ranks that wrote the checkpoint.
    public var worldSize: Int
    /// Whether the AdamW moments were sharded ZeRO-1 style when saved (informative: loading handles both).
    public var zero1: Bool
    /// Whether the shards hold AdamW moments (false for a checkpoint imported from Hugging Face).
    public var hasOptimizerState: Bool
    /// AdamW's step counter (the bias-correction exponent of the next step minus one).
    public var optimizerStep: Int
    /// Consecutive non-finite steps at save time (the run's `max_bad_steps` counter).
    public var badSteps: Int
    /// The run's fully resolved config, as YAML.
    public var config: String
    /// "xxh64:…" of the tokenizer.json stored next to the manifest, or nil when the run had none.
    public var tokenizerHash: String?
    /// "zstd" or "none".
    public var compression: ChunkCodec.Method
    public var level: Int
    public var shuffle: Bool
    /// Values per compressed chunk.
    public var chunkElements: Int
    /// Number of values in each flat buffer.
    public var parameterCount: Int
    public var tensors: [Tensor]
    public var shards: [Shard]
    /// Every rank's data-loader position at save time, indexed by rank (identical by construction:
    /// positions count rounds of the global batch), or empty.
    public var dataPositions: [DataLoaderPosition]
    /// How random state is recovered (documentation for readers of the file).
    public var rngState: String
    /// UTC time of the save, ISO 8601.
    public var created: String

    /// The standing explanation stored in `rngState`.
    public static let rngExplanation = "dropout masks are a pure function of (training.seed, step, micro-batch, rank) and data order of (data seed, epoch, shard); the step and the data positions are the whole random state"

    public init(step: Int, tokensSeen: Int, worldSize: Int, zero1: Bool, hasOptimizerState: Bool, optimizerStep: Int,
                badSteps: Int = 0, config: String, tokenizerHash: String?, compression: ChunkCodec.Method, level: Int,
                shuffle: Bool, chunkElements: Int, layout: some ParameterTable, shards: [Shard],
                dataPositions: [DataLoaderPosition], created: String) {
        formatVersion = Self.currentFormatVersion
        self.step = step; self.tokensSeen = tokensSeen; self.worldSize = worldSize; self.zero1 = zero1
        self.hasOptimizerState = hasOptimizerState; self.optimizerStep = optimizerStep; self.badSteps = badSteps
        self.config = config; self.tokenizerHash = tokenizerHash; self.compression = compression; self.level = level
        self.shuffle = shuffle; self.chunkElements = chunkElements; parameterCount = layout.count
        tensors = layout.tensors.map { Tensor(name: $0.name, shape: $0.shape, offset: $0.offset) }
        self.shards = shards; self.dataPositions = dataPositions; rngState = Self.rngExplanation; self.created = created
    }

    /// Total bytes of the shard files and uncompressed.
    public var storedBytes: Int { shards.reduce(0) { $0 + $1.storedBytes } }
    public var rawBytes: Int { shards.reduce(0) { $0 + $1.rawBytes } }

    /// Throws naming the first tensor whose name, shape or offset differs from `layout`'s.
    public func checkMatches(_ layout: some ParameterTable, directory: String) throws {
        for (i, t) in layout.tensors.enumerated() {
            guard i < tensors.count else {
                throw CheckpointError("\(directory) does not fit the model: it has \(tensors.count) tensors, the model has \(layout.tensors.count) (first missing: \(t.name) \(t.shape)); set the model section as in the checkpoint's config (`pretrain checkpoint inspect \(directory)`)")
            }
            let s = tensors[i]
            if s.name != t.name || s.shape != t.shape || s.offset != t.offset {
                throw CheckpointError("\(directory) does not fit the model: tensor \(t.name) is \(t.shape) in the config but the checkpoint has \(s.name) \(s.shape); set the model section as in the checkpoint's config (`pretrain checkpoint inspect \(directory)`)")
            }
        }
        guard tensors.count == layout.tensors.count, parameterCount == layout.count else {
            throw CheckpointError("\(directory) does not fit the model: the checkpoint has \(tensors.count) tensors (\(parameterCount) values), the model \(layout.tensors.count) (\(layout.count)); first extra: \(tensors.count > layout.tensors.count ? tensors[layout.tensors.count].name : "?")")
        }
    }

    /// Formats a checksum value as stored.
    public static func checksumString(_ value: UInt64) -> String {
        let hex = String(value, radix: 16)
        return "xxh64:" + String(repeating: "0", count: 16 - hex.count) + hex
    }
}
