import Config
import DataPipeline
import Foundation
import Model
import Support

/// A tiny corpus and config for training tests: a token stream with structure (so the loss falls),
/// written as an llm.c shard, and a small model.
public enum TrainingFixtures {
    /// Writes a shard of `count` tokens below `vocab` into a fresh directory; returns the directory.
    public static func corpus(vocab: Int = 64, count: Int = 20_000, seed: UInt64 = 5) throws -> String {
        let dir = NSTemporaryDirectory() + "train-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: seed)
        var tokens: [Int32] = []
        tokens.reserveCapacity(count)
        // Repeating short "words" with noise: learnable, not trivial.
        while tokens.count < count {
            let start = Int32(rng.next() % UInt64(vocab / 4)) * 4
            for k in 0..<Int32(4 + rng.next() % 4) { tokens.append((start + k) % Int32(vocab)) }
        }
        let writer = try ShardWriter(directory: dir, prefix: "train", shardTokens: count, wideTokens: false)
        try writer.append(Array(tokens.prefix(count)))
        _ = try writer.finish()
        return dir
    }

    /// A small GPT config over `dir`'s shards with the given batch geometry.
    public static func config(data dir: String, processes: Int, microBatch: Int, accumulation: Int, steps: Int = 20,
                       model: GPTConfig = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)) -> RunConfig {
        var c = RunConfig()
        c.launch.numProcesses = processes
        c.model = model
        c.data.train = dir + "/train_*.bin"
        c.data.val = ""
        c.data.tokenizer = ""
        c.data.shuffle = true
        c.optimizer.lr = 3e-3
        c.schedule.kind = .cosine
        c.schedule.warmupSteps = 3
        c.training.steps = steps
        c.training.microBatch = microBatch
        c.training.seqLen = model.maxSeqLen
        c.training.gradientAccumulationSteps = accumulation
        c.training.evalInterval = 0
        c.training.checksumInterval = 5
        c.training.bucketMB = 0.01  // several buckets even for a tiny model
        return c
    }
}
