import Config
import DataPipeline
import Foundation
import Model
import Checkpoint
import Support

/// Data, configs and runs shared by the checkpoint tests: a tiny learnable corpus, a small GPT, and
/// `pretrain train` under mpirun writing metrics and checkpoints into a temporary directory.
public enum CheckpointFixtures {
    /// A fresh temporary directory.
    public static func temporaryDirectory(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "ckpt-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes a token shard of structured "words" (the loss can fall) into `dir`.
    public static func corpus(in dir: String, vocab: Int = 64, count: Int = 20_000, seed: UInt64 = 11) throws {
        var rng = SplitMix64(seed: seed)
        var tokens: [Int32] = []
        while tokens.count < count {
            let start = Int32(rng.next() % UInt64(vocab / 4)) * 4
            for k in 0..<Int32(3 + rng.next() % 5) { tokens.append((start + k) % Int32(vocab)) }
        }
        let writer = try ShardWriter(directory: dir, prefix: "train", shardTokens: count, wideTokens: false)
        try writer.append(Array(tokens.prefix(count)))
        _ = try writer.finish()
    }

    /// A small model's run over `dir`'s corpus: global batch 8 on any number of ranks (≤ 4).
    public static func config(data dir: String, steps: Int = 20, model: GPTConfig = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)) -> RunConfig {
        var c = RunConfig()
        c.launch.numProcesses = 1
        c.model = model
        c.data.train = dir + "/train_*.bin"
        c.data.val = ""
        c.data.tokenizer = ""
        c.optimizer.lr = 3e-3
        c.schedule.warmupSteps = 3
        c.training.steps = steps
        c.training.microBatch = 2
        c.training.seqLen = model.maxSeqLen
        c.training.globalBatch = 8
        c.training.evalInterval = 0
        c.training.checksumInterval = 5
        c.training.bucketMB = 0.01  // several ZeRO chunks even for a tiny model
        c.checkpoint.keepLast = 10
        return c
    }

    /// Writes `config` as YAML into `dir`; returns the file.
    public static func write(_ config: RunConfig, in dir: String) throws -> String {
        let file = dir + "/run-\(UUID().uuidString.prefix(8)).yaml"
        try ConfigLoader.render(config).write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// `mpirun -n ranks pretrain train --config file` with metrics and checkpoints under `runDir`.
    public static func train(_ ranks: Int, _ file: String, runDir: String, _ extra: [String] = [], timeout: TimeInterval = 120) throws -> ProcessRunner.Run {
        try ProcessRunner.mpirun(ranks, ["train", "--config", file, "--set", "num_processes=\(ranks)", "--set", "logging.run_dir=\(runDir)",
                                         "--quiet"] + extra, timeout: timeout)
    }

    /// Rank 0's losses by step from a run directory's metrics (a resumed run appends nothing of the
    /// earlier steps: its file starts at the step after the checkpoint).
    public static func losses(_ runDir: String) throws -> [Int: Double] {
        let text = try String(contentsOfFile: runDir + "/metrics/rank-00000.jsonl", encoding: .utf8)
        var result: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            if let loss = object["loss"] as? Double, let step = object["step"] as? Int { result[step] = loss }
        }
        return result
    }

    /// The exact float32 loss values as written (%.6f) cannot prove bit equality; the checkpoint
    /// buffers can. Reads every buffer of a checkpoint written with world size `ranks`.
    public static func buffers(_ path: String) throws -> (params: [Float], m: [Float], v: [Float], step: Int) {
        let reader = try CheckpointReader(path: path)
        let n = reader.manifest.parameterCount
        var p = [Float](repeating: 0, count: n), m = p, v = p
        try p.withUnsafeMutableBufferPointer { pp in
            try m.withUnsafeMutableBufferPointer { mm in
                try v.withUnsafeMutableBufferPointer { vv in
                    try reader.read([.init(buffer: .params, range: 0..<n, destination: pp.baseAddress!),
                                     .init(buffer: .m, range: 0..<n, destination: mm.baseAddress!),
                                     .init(buffer: .v, range: 0..<n, destination: vv.baseAddress!)])
                }
            }
        }
        return (p, m, v, reader.manifest.step)
    }

    /// Bit patterns, for bitwise comparison with a readable failure.
    public static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }
}
