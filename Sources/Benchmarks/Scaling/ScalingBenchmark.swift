import DataPipeline
import Distributed
import Foundation
import Model
import Support

/// Data-parallel scaling of the training step on a benchmark preset: runs `pretrain bench scaling
/// --worker` (a `ScalingWorker` in each rank) under mpirun for 1 rank, 2 ranks, 2 ranks without
/// gradient communication and the other configurations asked for, in rotation, and collects rank 0's
/// `SCALING` records.
public struct ScalingBenchmark {
    /// What to measure.
    public struct Settings: Sendable {
        public var preset: any ScalingPreset
        public var steps: Int
        public var warmup: Int
        public var threads: Int
        public var rounds: Int
        /// Gradient schedules of the 2-rank runs: auto, overlap or after-backward.
        public var schedules: [String]
        /// mpirun --bind-to for 1 and 2 ranks: core or none.
        public var bind: String
        public var oversubscribed = false
        public var skipZero1 = false
        public var compareMPI = false
        public var compareWholeEmbedding = false
        public var compareAligned = false
        public var paired = false
        public var pairedWithoutRaw = false
        /// Also run every 2-rank schedule (and its paired job) with `PRETRAIN_PROGRESSIVE_SUM=0`: after
        /// backward, one plain sum instead of the progressive one.
        public var comparePlainSum = false
        /// Also run, per round, one 2-rank job that alternates progressively and plainly summed steps.
        public var pairedProgressive = false
        public var compression: GradientCompression
        /// fp32, or bf16 (`mixed_precision: bf16`) in every run.
        public var precision = "fp32"
        /// Wait before each run until other processes use less than this many cores (0: don't).
        public var waitIdle = 0.3
        /// Redo a run (up to twice) when other processes used more than this many cores during it.
        public var maxForeign = 0.25

        /// Checks the values, throwing the command line's one-line messages; `checkSchedule` checks a
        /// --grad-sync value as `pretrain train` does.
        public init(preset: String, steps: Int, warmup: Int, threads: Int, rounds: Int, gradSync: String, bind: String,
                    compression: String, checkSchedule: (String) throws -> Void) throws {
            self.preset = try BenchPreset.scalingPreset(named: preset)
            guard steps >= 1, warmup >= 0, rounds >= 1, threads >= 1 else {
                throw BenchmarkError("--steps, --rounds and --threads must be ≥ 1 and --warmup ≥ 0")
            }
            guard let wire = GradientCompression(rawValue: compression) else { throw BenchmarkError("--compression \(compression) is not none or bf16") }
            schedules = gradSync == "both" ? ["overlap", "after-backward"] : [gradSync]
            for schedule in schedules { try checkSchedule(schedule) }
            guard ["core", "none"].contains(bind) else { throw BenchmarkError("--bind \(bind) is not core or none") }
            (self.steps, self.warmup, self.threads, self.rounds, self.bind, self.compression) = (steps, warmup, threads, rounds, bind, wire)
        }

        /// Checks the flag combinations (after the flags themselves are set).
        public func validateCombinations() throws {
            guard ["fp32", "bf16"].contains(precision) else { throw BenchmarkError("--precision \(precision) is not fp32 or bf16") }
            if pairedWithoutRaw, !paired { throw BenchmarkError("--paired-without-raw adds a variant of the paired run; add --paired") }
            if pairedProgressive || comparePlainSum, compression != .none {
                throw BenchmarkError("--\(pairedProgressive ? "paired-progressive" : "compare-plain-sum") compares uncompressed sums after backward; drop --compression \(compression.rawValue)")
            }
            if compareWholeEmbedding, schedules == ["after-backward"] {
                throw BenchmarkError("--compare-whole-embedding compares schedules that overlap backward; use --grad-sync overlap, both or auto")
            }
        }
    }

    /// Every run's record, by configuration label, in the order first run.
    public struct Result {
        public var settings: Settings
        public var order: [String]
        public var results: [String: [[String: Any]]]
    }

    public var settings: Settings
    /// The `pretrain` binary each rank runs (resolved once: a rebuild while the benchmark runs must not
    /// swap the binary between runs).
    public var executable: String

    public init(settings: Settings, executable: String) {
        self.settings = settings
        self.executable = executable
    }

    /// Runs every configuration; `log` receives the header line (standard output) before the first
    /// run, while progress goes to standard error.
    public func run(log: (String) -> Void) throws -> Result {
        let s = settings, p = s.preset
        let dir = NSTemporaryDirectory() + "pretrain-scaling-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (shard, tokenizer) = try Self.writeRandomTokens(p, directory: dir)
        let common = ["--preset", p.name, "--steps", "\(s.steps)", "--warmup", "\(s.warmup)", "--threads", "\(s.threads)",
                      "--data", shard, "--compression", s.compression.rawValue, "--precision", s.precision] + (tokenizer.isEmpty ? [] : ["--tokenizer", tokenizer])
        let plan = Self.plan(s)
        log("bench-\(p.name): \(p.parameterCount) parameters, \(p.scalingSummary), "
            + "\(s.threads) thread(s) per rank, mpirun --bind-to \(s.bind) (4 ranks: --oversubscribe), \(s.steps) timed steps after \(s.warmup) warm-up, "
            + "gradients \(s.compression.rawValue == "none" ? "float32" : "bf16"), matmuls \(s.precision), load average \(Statistics.loadAverage())")
        var results: [String: [[String: Any]]] = [:]
        var order: [String] = []
        for run in plan {
            var result: [String: Any] = [:]
            for attempt in 1...3 {
                if s.waitIdle > 0 { CPUUsage.waitUntilIdle(below: s.waitIdle, atMost: 600) }
                result = try launch(run, common: common)
                let foreign = result["foreign_cores"] as? Double ?? 0
                if foreign <= s.maxForeign || attempt == 3 { break }
                FileHandle.standardError.write(Data(String(format: "  %@: discarded, other processes used %.2f cores meanwhile; again\n",
                                                           run.label, foreign).utf8))
            }
            if results[run.label] == nil { order.append(run.label) }
            results[run.label, default: []].append(result)
            let tps = result["tokens_per_s"] as? Double ?? 0
            FileHandle.standardError.write(Data(String(format: "  %@: %.0f tokens/s\n", run.label, tps).utf8))
        }
        return Result(settings: s, order: order, results: results)
    }

    /// One configuration to measure.
    struct Run {
        var label: String
        var ranks: Int
        var arguments: [String]
        /// Variables added to the job's environment.
        var environment: [String: String] = [:]
    }

    /// The runs in order: `rounds` rotations of the compared configurations, then ZeRO-1 and the
    /// oversubscribed ones.
    static func plan(_ s: Settings) -> [Run] {
        var trio = [Run(label: "1 rank", ranks: 1, arguments: [])]
        for schedule in s.schedules {
            trio.append(Run(label: "2 ranks, \(schedule)", ranks: 2, arguments: ["--grad-sync", schedule]))
            if s.compareMPI {
                trio.append(Run(label: "2 ranks, \(schedule), MPI_Allreduce", ranks: 2, arguments: ["--grad-sync", schedule],
                                environment: ["PRETRAIN_SINGLE_NODE_ALLREDUCE": "0"]))
            }
            if s.comparePlainSum {
                trio.append(Run(label: "2 ranks, \(schedule), plain sum", ranks: 2, arguments: ["--grad-sync", schedule],
                                environment: ["PRETRAIN_PROGRESSIVE_SUM": "0"]))
            }
            if s.paired {
                trio.append(Run(label: "2 ranks, \(schedule), paired with no sync", ranks: 2,
                                arguments: ["--grad-sync", schedule, "--paired-worker"]))
                if s.comparePlainSum {
                    trio.append(Run(label: "2 ranks, \(schedule), plain sum, paired with no sync", ranks: 2,
                                    arguments: ["--grad-sync", schedule, "--paired-worker"], environment: ["PRETRAIN_PROGRESSIVE_SUM": "0"]))
                }
                if s.pairedWithoutRaw {
                    trio.append(Run(label: "2 ranks, \(schedule), paired with no sync, no raw", ranks: 2,
                                    arguments: ["--grad-sync", schedule, "--paired-worker", "--no-raw"]))
                }
            }
            if s.compareWholeEmbedding {
                trio.append(Run(label: "2 ranks, \(schedule), embedding whole", ranks: 2,
                                arguments: ["--grad-sync", schedule, "--token-embedding", "whole"]))
            }
        }
        if s.pairedProgressive {
            trio.append(Run(label: "2 ranks, progressive paired with plain sum", ranks: 2,
                            arguments: ["--grad-sync", "after-backward", "--paired-progressive-worker"]))
        }
        trio.append(Run(label: "2 ranks, no sync", ranks: 2, arguments: ["--no-sync"]))
        if s.compareAligned {
            trio.append(Run(label: "2 ranks, no sync, aligned", ranks: 2, arguments: ["--no-sync", "--align-steps"]))
        }
        var plan: [Run] = []
        for _ in 0..<s.rounds { plan += trio }
        if !s.skipZero1 { plan.append(Run(label: "2 ranks, ZeRO-1", ranks: 2, arguments: ["--zero1"])) }
        if s.oversubscribed {
            plan.append(Run(label: "4 ranks (oversubscribed)", ranks: 4, arguments: ["--grad-sync", s.schedules[0]]))
            if !s.skipZero1 { plan.append(Run(label: "4 ranks, ZeRO-1 (oversubscribed)", ranks: 4, arguments: ["--zero1"])) }
        }
        return plan
    }

    /// Writes the preset's tokenizer (if it needs one) and 200k random tokens below its vocabulary,
    /// none of them a special token, as one shard; returns the shard's and the tokenizer's paths.
    private static func writeRandomTokens(_ p: any ScalingPreset, directory: String) throws -> (shard: String, tokenizer: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (tokenizer, reserved) = try p.writeTokenizer(directory: directory)
        var rng = SplitMix64(seed: 7)
        let tokens = (0..<200_000).map { _ in
            let id = Int32(rng.next() % UInt64(p.vocabularySize - reserved.count))
            return id < reserved.lowerBound ? id : id + Int32(reserved.count)
        }
        let writer = try ShardWriter(directory: directory, prefix: "train", shardTokens: tokens.count, wideTokens: false)
        try writer.append(tokens)
        return (try writer.finish()[0], tokenizer)
    }

    /// Runs one configuration under mpirun and returns rank 0's `SCALING` record.
    private func launch(_ run: Run, common: [String]) throws -> [String: Any] {
        var args = ["mpirun", "-n", "\(run.ranks)"]
        args += run.ranks > ProcessInfo.processInfo.activeProcessorCount ? ["--oversubscribe"] : ["--bind-to", settings.bind]
        if getuid() == 0 { args.append("--allow-run-as-root") }
        args += [executable, "bench", "scaling", "--worker", "--label", run.label] + common + run.arguments
        let settings = run.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value) " }.joined()
        FileHandle.standardError.write(Data(("running: " + settings + args.joined(separator: " ") + "\n").utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(run.environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let before = CPUUsage.sample()
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let foreign = CPUUsage.sample().foreignCores(since: before)
        guard process.terminationStatus == 0,
              let line = output.split(separator: "\n").last(where: { $0.hasPrefix("SCALING ") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.dropFirst(8).utf8)) as? [String: Any] else {
            throw BenchmarkError("\(run.label) failed (status \(process.terminationStatus)):\n\(output)")
        }
        var result = object
        result["foreign_cores"] = foreign
        return result
    }
}
