import Foundation

/// Files, processes and small training runs shared by the launch tests.
public enum LaunchFixtures {
    /// The repository root (this file is Tests/TestSupport/LaunchFixtures.swift).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Where this test process keeps its temporary directories; removed when the process exits.
    public static let temporaryRoot: String = {
        let root = NSTemporaryDirectory() + "launch-tests-\(getpid())"
        atexit { try? FileManager.default.removeItem(atPath: LaunchFixtures.temporaryRoot) }
        return root
    }()

    /// A fresh temporary directory (under `temporaryRoot`, so none outlives the test process).
    public static func temporaryDirectory(_ label: String) throws -> String {
        let dir = temporaryRoot + "/launch-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `text` to `dir/name` and returns the path.
    @discardableResult
    public static func write(_ text: String, to dir: String, _ name: String, executable: Bool = false) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
        return path
    }

    /// Writes an llm.c token shard (header of 256 little-endian int32: magic 20240520, version 1,
    /// count; then uint16 tokens) holding a learnable stream below `vocab`: runs of consecutive tokens.
    public static func writeShard(to dir: String, vocab: Int = 64, count: Int = 16_384) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {  // xorshift64*: any fixed sequence will do
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        var tokens: [UInt16] = []
        while tokens.count < count {
            let start = Int(next() % UInt64(vocab / 4)) * 4
            for k in 0..<(3 + Int(next() % 4)) { tokens.append(UInt16((start + k) % vocab)) }
        }
        tokens.removeLast(tokens.count - count)
        var header = [Int32](repeating: 0, count: 256)
        header[0] = 20_240_520
        header[1] = 1
        header[2] = Int32(count)
        var data = header.withUnsafeBytes { Data($0) }
        tokens.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: dir + "/train_000000.bin"))
    }

    /// The test's environment without the variables a launch forwards or tunes (as `CommandRun`
    /// overrides: "" removes), plus `extra`.
    public static func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var removed: [String: String] = [:]
        for key in ProcessInfo.processInfo.environment.keys
        where key.hasPrefix("PRETRAIN_") || key.hasPrefix("OMPI_") || key.hasPrefix("SLURM_") || key.hasPrefix("OPENBLAS_")
            || key == "OMP_NUM_THREADS" || key == "LD_LIBRARY_PATH" {
            removed[key] = ""
        }
        return removed.merging(extra) { $1 }
    }

    /// A small training config over `dataDir`'s shard that logs to `runDir`; `extra` is appended at the
    /// top level (launch keys).
    public static func trainingConfig(dataDir: String, runDir: String, steps: Int, processes: Int = 2, extra: String = "") -> String {
        """
        distributed_type: MULTI_CPU
        num_processes: \(processes)
        threads_per_process: 1
        \(extra)
        model:
          vocab_size: 64
          max_seq_len: 16
          n_layer: 2
          n_head: 2
          d_model: 32
        data:
          train: \(dataDir)/train_*.bin
          val: ''
          tokenizer: ''
        optimizer:
          lr: 3.0e-3
        schedule:
          warmup_steps: 2
        training:
          steps: \(steps)
          micro_batch: 4
          seq_len: 16
          eval_interval: 0
          checksum_interval: 0
        logging:
          run_dir: \(runDir)
          interval: 1

        """
    }

    /// The `loss` of every step in `runDir/metrics/rank-00000.jsonl`, by step.
    public static func losses(runDir: String, rank: Int = 0) throws -> [Int: Double] {
        let path = runDir + String(format: "/metrics/rank-%05d.jsonl", rank)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var result: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = object["step"] as? Int, let loss = object["loss"] as? Double else { continue }
            result[step] = loss
        }
        return result
    }
}
