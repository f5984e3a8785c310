import Support

/// Reads each rank's slice of every global batch from memory-mapped token shards.
///
/// **Samples.** A shard of n tokens holds `(n - 1) / T` samples; sample s is tokens
/// `s·T … s·T + T` (T + 1 tokens: inputs are the first T, targets the last T), as llm.c reads.
/// An epoch visits every sample of every shard once: shards in order (or in a permutation seeded
/// by (seed, epoch)), and within each shard samples in order (or in a permutation seeded by
/// (seed, epoch, shard)). Nothing here depends on the rank or the world size.
///
/// **Ranks.** The epoch's samples form one stream; `next()` consumes it in *rounds* of
/// `worldSize × microBatch` sequences, and rank r takes sequences `r·B ..< (r+1)·B` of each round.
/// So rank r's micro-step c (counting from the start) reads micro-batch `c·N + r` of the stream:
/// with A accumulation steps, rank r at optimizer step s, micro-step j gets exactly what one rank
/// with N·A accumulation steps and the same B gets at step s, micro-step `j·N + r`. The union over
/// ranks of a global batch is therefore the single-rank global batch, in the same order.
///
/// **Buffers.** `inputs` and `targets` are (B, T) row-major Int32 buffers owned by the loader and
/// refilled in place by `next()`; nothing is allocated per step.
///
/// **Position.** `position` is a `DataLoaderPosition` (epoch, shard, sample, seed, …);
/// `restore(_:)` continues with exactly the tokens an uninterrupted run would have read.
/// Crossing the end of the last shard starts the next epoch (a new order when shuffling).
///
/// The validation loader is the same type over the val shards with `shuffle: false`; `reset()`
/// goes back to the start before each evaluation.
public final class DistributedDataLoader {
    /// Sequences per micro-batch on each rank (B).
    public let microBatch: Int
    /// Tokens per sequence (T).
    public let sequenceLength: Int
    /// This process's rank.
    public let rank: Int
    /// Number of ranks reading the same stream.
    public let worldSize: Int
    /// Whether shard order and sample order are shuffled per epoch.
    public let shuffle: Bool
    /// The shuffle seed.
    public let seed: UInt64
    /// The shards, in file-name order.
    public let shards: [TokenShard]
    /// Samples in one pass over all shards.
    public let sequencesPerEpoch: Int
    /// When set, every token read is checked to be below it (the model's vocabulary size).
    public let modelVocabularySize: Int?
    /// The (B, T) input token ids, refilled by each `next()`.
    public let inputs: UnsafeMutableBufferPointer<Int32>
    /// The (B, T) target token ids (inputs shifted by one), refilled by each `next()`.
    public let targets: UnsafeMutableBufferPointer<Int32>

    private let samplesPerShard: [Int]
    private var round: DataLoaderPosition
    private var shardOrderCache: (epoch: Int, order: [Int32])?
    private var sampleOrderCache: [(epoch: Int, shard: Int, order: [Int32])] = []

    /// A loader over the given shard files (sorted by the caller, e.g. with `ShardFiles.find`).
    public init(paths: [String], microBatch: Int, sequenceLength: Int, rank: Int = 0, worldSize: Int = 1,
                shuffle: Bool = false, seed: UInt64 = 0, modelVocabularySize: Int? = nil) throws
    {
        guard microBatch > 0 else { throw DataError.invalidSetting(name: "micro_batch", problem: "must be positive, got \(microBatch)") }
        guard sequenceLength > 0 else { throw DataError.invalidSetting(name: "seq_len", problem: "must be positive, got \(sequenceLength)") }
        guard worldSize > 0, rank >= 0, rank < worldSize else {
            throw DataError.invalidSetting(name: "rank", problem: "rank \(rank) is outside a world of \(worldSize)")
        }
        guard !paths.isEmpty else { throw DataError.noShards(pattern: "(no paths)") }
        self.microBatch = microBatch
        self.sequenceLength = sequenceLength
        self.rank = rank
        self.worldSize = worldSize
        self.shuffle = shuffle
        self.seed = seed
        self.modelVocabularySize = modelVocabularySize
        shards = try paths.map { try TokenShard(path: $0) }
        samplesPerShard = shards.map { $0.count > sequenceLength ? ($0.count - 1) / sequenceLength : 0 }
        sequencesPerEpoch = samplesPerShard.reduce(0, +)
        guard sequencesPerEpoch > 0 else {
            throw DataError.shardsTooShort(pattern: paths.count == 1 ? paths[0] : "\(paths[0]) and \(paths.count - 1) more",
                                           tokens: shards.map(\.count).reduce(0, +), sequenceLength: sequenceLength)
        }
        inputs = .allocate(capacity: microBatch * sequenceLength)
        targets = .allocate(capacity: microBatch * sequenceLength)
        inputs.initialize(repeating: 0)
        targets.initialize(repeating: 0)
        round = DataLoaderPosition(seed: seed, shuffle: shuffle, shardCount: paths.count, sequenceLength: sequenceLength)
        normalize(&round)
    }

    /// A loader over the `split` shards found at `location` (see `ShardFiles.find`).
    public convenience init(location: String, split: String, microBatch: Int, sequenceLength: Int, rank: Int = 0,
                            worldSize: Int = 1, shuffle: Bool = false, seed: UInt64 = 0, modelVocabularySize: Int? = nil) throws
    {
        try self.init(paths: ShardFiles.find(location, split: split), microBatch: microBatch, sequenceLength: sequenceLength,
                      rank: rank, worldSize: worldSize, shuffle: shuffle, seed: seed, modelVocabularySize: modelVocabularySize)
    }

    deinit {
        inputs.deallocate()
        targets.deallocate()
    }

    /// Fills `inputs` and `targets` with this rank's next micro-batch.
    public func next() throws {
        try next(inputs: inputs.baseAddress!, targets: targets.baseAddress!)
    }

    /// Fills caller-owned (B, T) buffers with this rank's next micro-batch.
    public func next(inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>) throws {
        var cursor = round
        advance(&cursor, by: rank * microBatch)
        let t = sequenceLength
        for row in 0..<microBatch {
            let file = shardFile(epoch: cursor.epoch, ordinal: cursor.shard)
            let sample = sampleIndex(epoch: cursor.epoch, file: file, ordinal: cursor.sample)
            let shard = shards[file]
            let largest = max(shard.copy(from: sample * t, count: t, into: inputs + row * t),
                              shard.copy(from: sample * t + 1, count: t, into: targets + row * t))
            if let limit = modelVocabularySize, Int(largest) >= limit {
                throw DataError.tokenOutOfRange(path: shard.path, token: Int(largest), modelSize: limit)
            }
            advance(&cursor, by: 1)
        }
        advance(&round, by: worldSize * microBatch)
        round.sequencesRead += worldSize * microBatch
    }

    /// The position of the next round; save it with the checkpoint.
    public var position: DataLoaderPosition { round }

    /// Continues from a saved position (the same data and settings are required).
    public func restore(_ saved: DataLoaderPosition) throws {
        guard saved.seed == seed, saved.shuffle == shuffle else {
            throw DataError.positionMismatch(problem: "it was saved with seed \(saved.seed), shuffle \(saved.shuffle); this loader has seed \(seed), shuffle \(shuffle)")
        }
        guard saved.shardCount == shards.count, saved.sequenceLength == sequenceLength else {
            throw DataError.positionMismatch(problem: "it was saved over \(saved.shardCount) shards with T=\(saved.sequenceLength); now \(shards.count) shards with T=\(sequenceLength)")
        }
        guard saved.epoch >= 0, saved.shard >= 0, saved.shard < shards.count, saved.sample >= 0 else {
            throw DataError.positionMismatch(problem: "epoch \(saved.epoch), shard \(saved.shard), sample \(saved.sample) is out of range")
        }
        let file = shardFile(epoch: saved.epoch, ordinal: saved.shard)
        guard saved.sample < max(samplesPerShard[file], 1) else {
            throw DataError.positionMismatch(problem: "sample \(saved.sample) is past the end of \(shards[file].path)")
        }
        round = saved
        normalize(&round)
    }

    /// Goes back to the first sample of epoch 0 (used before each validation pass).
    public func reset() {
        round = DataLoaderPosition(seed: seed, shuffle: shuffle, shardCount: shards.count, sequenceLength: sequenceLength)
        normalize(&round)
    }

    /// The file index of the shard at `ordinal` in `epoch`'s shard order.
    private func shardFile(epoch: Int, ordinal: Int) -> Int {
        guard shuffle else { return ordinal }
        if let cached = shardOrderCache, cached.epoch == epoch { return Int(cached.order[ordinal]) }
        var rng = SplitMix64(seeds: seed, UInt64(epoch), 0x5348_4152_4453)  // "SHARDS"
        let order = rng.permutation(shards.count)
        shardOrderCache = (epoch, order)
        return Int(order[ordinal])
    }

    /// The sample index at `ordinal` in the sample order of shard `file` during `epoch`.
    private func sampleIndex(epoch: Int, file: Int, ordinal: Int) -> Int {
        guard shuffle else { return ordinal }
        if let cached = sampleOrderCache.first(where: { $0.epoch == epoch && $0.shard == file }) {
            return Int(cached.order[ordinal])
        }
        var rng = SplitMix64(seeds: seed, UInt64(epoch), UInt64(file), 0x5341_4D50_4C45)  // "SAMPLE"
        let order = rng.permutation(samplesPerShard[file])
        if sampleOrderCache.count >= 3 { sampleOrderCache.removeFirst() }
        sampleOrderCache.append((epoch, file, order))
        return Int(order[ordinal])
    }

    /// Moves a cursor on by `count` samples, across shards and epochs.
    private func advance(_ cursor: inout DataLoaderPosition, by count: Int) {
        var left = count
        // Whole epochs at once, so a huge skip costs no more than one pass over the shards.
        if left >= sequencesPerEpoch {
            let remainingThisEpoch = remaining(in: cursor)
            if left >= remainingThisEpoch {
                left -= remainingThisEpoch
                cursor.epoch += 1 + left / sequencesPerEpoch
                left %= sequencesPerEpoch
                cursor.shard = 0
                cursor.sample = 0
                normalize(&cursor)
            }
        }
        while left > 0 {
            let inShard = samplesPerShard[shardFile(epoch: cursor.epoch, ordinal: cursor.shard)] - cursor.sample
            if left < inShard {
                cursor.sample += left
                return
            }
            left -= inShard
            cursor.shard += 1
            cursor.sample = 0
            normalize(&cursor)
        }
    }

    /// Samples from `cursor` to the end of its epoch.
    private func remaining(in cursor: DataLoaderPosition) -> Int {
        var total = samplesPerShard[shardFile(epoch: cursor.epoch, ordinal: cursor.shard)] - cursor.sample
        for ordinal in (cursor.shard + 1)..<max(cursor.shard + 1, shards.count) {
            total += samplesPerShard[shardFile(epoch: cursor.epoch, ordinal: ordinal)]
        }
        return total
    }

    /// Steps a cursor off exhausted or empty shards, rolling into the next epoch after the last.
    private func normalize(_ cursor: inout DataLoaderPosition) {
        while true {
            if cursor.shard >= shards.count {
                cursor.epoch += 1
                cursor.shard = 0
                cursor.sample = 0
            }
            if cursor.sample < samplesPerShard[shardFile(epoch: cursor.epoch, ordinal: cursor.shard)] { return }
            cursor.shard += 1
            cursor.sample = 0
        }
    }
}
