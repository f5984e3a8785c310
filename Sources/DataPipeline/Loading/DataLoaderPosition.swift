/// Where a `DistributedDataLoader` is in its data: small, Codable, saved with each checkpoint.
///
/// The position is that of the next *round* (the next micro-step of all ranks together), so it
/// is the same on every rank and independent of the world size: a run can resume on a different
/// number of ranks at an optimizer-step boundary. Shard and sample orders are pure functions of
/// (seed, epoch, shard), so `seed` plus `epoch` is the whole random-generator state.
public struct DataLoaderPosition: Codable, Hashable, Sendable {
    /// Passes completed over all shards.
    public var epoch: Int
    /// Index into this epoch's shard order.
    public var shard: Int
    /// Index into that shard's sample order; the sample's first token is `order[sample] × T`.
    public var sample: Int
    /// The shuffle seed.
    public var seed: UInt64
    /// Whether shard and sample order are shuffled.
    public var shuffle: Bool
    /// Number of shards the position refers to (checked on restore).
    public var shardCount: Int
    /// Sequence length T (checked on restore).
    public var sequenceLength: Int
    /// Sequences consumed by all ranks together since the start of the run.
    public var sequencesRead: Int

    /// A position at the start of epoch 0.
    public init(seed: UInt64, shuffle: Bool, shardCount: Int, sequenceLength: Int) {
        epoch = 0
        shard = 0
        sample = 0
        self.seed = seed
        self.shuffle = shuffle
        self.shardCount = shardCount
        self.sequenceLength = sequenceLength
        sequencesRead = 0
    }
}
