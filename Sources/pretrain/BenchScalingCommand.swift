import ArgumentParser
import DataPipeline
import Distributed
import Foundation
import Model
import Training
import Support

/// `pretrain bench scaling`: data-parallel scaling of the training step on a benchmark preset.
struct BenchScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Compare 1 rank, 2 ranks and 2 ranks without gradient communication, in one sitting.",
        discussion: """
        Run it directly (not under mpirun): it writes random tokens, then starts mpirun itself for each configuration, each training the preset with the real Trainer (same per-rank micro-batch): 1 rank; 2 ranks; 2 ranks with --no-sync (nothing exchanged: what the same two processes do without communication; side by side they are slower than one alone, which this separates); 2 ranks with ZeRO-1 (peak memory); optionally 4 ranks, oversubscribed.

        Reported per configuration: job tokens/s, median step per rank, exposed communication (what the step waited for; min/max over ranks: the rank that finished backward last waited for the communication alone, the others also for that slower rank), the communication thread's CPU time per step (what overlapped communication took from the cores even when the step did not wait for it), gradient-sync bus bandwidth next to a raw MPI_Allreduce of the same bytes in the same processes, MFU, peak RSS per rank, and the CPU other processes used meanwhile (cores; the worst round); then the ratios against the goals. Each run first waits until the machine is idle (--wait-idle), since other work on a 2-core machine distorts every number.

        --paired adds one more 2-rank job per schedule that alternates synchronised and no-sync steps, each after an untimed barrier, and times a raw MPI_Allreduce after every synchronised step: on a shared, noisy machine this pairs each comparison in time (separate runs minutes apart can differ by 10 %). --compare-aligned-no-sync adds no-sync ranks that meet at a barrier before every step: the synchronised run against it is the cost of communication without the cost of keeping in step.

        Example: pretrain bench scaling --preset s --steps 5 --rounds 2
        """)

    @Option(help: "Model preset: s or m.") var preset: String = "s"
    @Option(help: "Timed steps per configuration (the median is reported).") var steps: Int = 5
    @Option(help: "Untimed warm-up steps per configuration.") var warmup: Int = 2
    @Option(help: "Compute threads per rank.") var threads: Int = 1
    @Option(help: "Repeat 1 rank / 2 ranks / no-sync this many times in rotation (medians over rounds).") var rounds: Int = 1
    @Option(help: "Gradient schedule: auto (what `pretrain train` does), overlap, after-backward, or both (measures overlap and after-backward).")
    var gradSync: String = "auto"
    @Option(help: "mpirun --bind-to for 1 and 2 ranks: core or none.") var bind: String = "core"
    @Flag(help: "Also run 4 ranks (oversubscribed on a 2-core machine).") var oversubscribed = false
    @Flag(help: "Skip the ZeRO-1 run.") var skipZero1 = false
    @Flag(name: .customLong("compare-mpi-allreduce"),
          help: "Also run each 2-rank schedule with PRETRAIN_SINGLE_NODE_ALLREDUCE=0 (plain MPI_Allreduce), in the same rotation.")
    var compareMPI = false
    @Flag(name: .customLong("compare-whole-embedding"),
          help: "Also run each 2-rank schedule sending the tied token-embedding table whole after backward instead of deferring its lookup rows, in the same rotation.")
    var compareWholeEmbedding = false
    @Flag(name: .customLong("compare-aligned-no-sync"),
          help: "Also run 2 ranks with no sync but a barrier before every step (untimed), in the same rotation: the ranks start each step together, as synchronised ranks do, so the synchronised run ÷ this one is the cost of communication alone, without the cost of keeping in step.")
    var compareAligned = false
    @Flag(help: "Also run each 2-rank schedule as one job that alternates synchronised and no-sync steps (--steps of each), so both see the same machine; reports the median per-pair ratio.")
    var paired = false
    @Flag(help: "With --paired: also run each paired job without the raw MPI_Allreduce after its synchronised steps, in the same rotation (does that call change the pairs?).")
    var pairedWithoutRaw = false
    @Option(help: "Gradient compression for the multi-rank runs: none or bf16.") var compression: String = "none"
    @Option(help: "Before each run wait (up to 10 min) until other processes use less than this many cores (0: don't wait).")
    var waitIdle: Double = 0.3
    @Option(help: "Redo a run (up to twice) when other processes used more than this many cores during it.")
    var maxForeign: Double = 0.25

    @Flag(help: .hidden) var worker = false
    @Flag(help: "Bench only (with --worker): exchange nothing per step (no gradient sync, no loss average).")
    var noSync = false
    @Flag(help: .hidden) var zero1 = false
    @Option(help: .hidden) var data: String = ""
    @Option(help: .hidden) var label: String = ""
    @Option(help: .hidden) var tokenEmbedding: String = "auto"
    @Flag(help: .hidden) var pairedWorker = false
    @Flag(help: .hidden) var noRaw = false
    @Flag(help: .hidden) var alignSteps = false

    func run() throws {
        guard let p = BenchPreset(rawValue: preset.lowercased()) else { throw CLIError("--preset \(preset) is not a preset; use s or m") }
        guard steps >= 1, warmup >= 0, rounds >= 1, threads >= 1 else {
            throw CLIError("--steps, --rounds and --threads must be ≥ 1 and --warmup ≥ 0")
        }
        guard let wire = GradientCompression(rawValue: compression) else { throw CLIError("--compression \(compression) is not none or bf16") }
        let schedules = gradSync == "both" ? ["overlap", "after-backward"] : [gradSync]
        for schedule in schedules { _ = try TrainCommand.parseGradSync(schedule) }
        guard ["core", "none"].contains(bind) else { throw CLIError("--bind \(bind) is not core or none") }
        if pairedWithoutRaw, !paired { throw CLIError("--paired-without-raw adds a variant of the paired run; add --paired") }
        if compareWholeEmbedding, schedules == ["after-backward"] {
            throw CLIError("--compare-whole-embedding compares schedules that overlap backward; use --grad-sync overlap, both or auto")
        }
        if worker {
            let deferring: Bool?
            switch tokenEmbedding {
            case "auto": deferring = nil
            case "deferred": deferring = true
            case "whole": deferring = false
            default: throw CLIError("--token-embedding \(tokenEmbedding) is not auto, deferred or whole")
            }
            try ScalingWorker(preset: p, data: data, steps: steps, warmup: warmup, threads: threads,
                              overlap: try TrainCommand.parseGradSync(schedules[0]),
                              synchronize: !noSync, zero1: zero1, compression: wire, deferTokenEmbedding: deferring,
                              paired: pairedWorker, pairedRaw: !noRaw, alignSteps: alignSteps, label: label).run()
            return
        }
        if MPILibrary.launcherLayout != nil {
            throw CLIError("run `pretrain bench scaling` directly, not under mpirun: it starts mpirun itself for each configuration")
        }
        try drive(p, schedules: schedules, wire: wire)
    }

    /// One configuration to measure.
    struct Run {
        var label: String
        var ranks: Int
        var arguments: [String]
        /// Variables added to the job's environment.
        var environment: [String: String] = [:]
    }

    private func drive(_ p: BenchPreset, schedules: [String], wire: GradientCompression) throws {
        // Resolved once: a rebuild while the benchmark runs must not swap the binary between runs.
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let dir = NSTemporaryDirectory() + "pretrain-scaling-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shard = try writeRandomTokens(p, directory: dir)
        let common = ["--preset", p.rawValue, "--steps", "\(steps)", "--warmup", "\(warmup)", "--threads", "\(threads)",
                      "--data", shard, "--compression", wire.rawValue]
        var trio = [Run(label: "1 rank", ranks: 1, arguments: [])]
        for schedule in schedules {
            trio.append(Run(label: "2 ranks, \(schedule)", ranks: 2, arguments: ["--grad-sync", schedule]))
            if compareMPI {
                trio.append(Run(label: "2 ranks, \(schedule), MPI_Allreduce", ranks: 2, arguments: ["--grad-sync", schedule],
                                environment: ["PRETRAIN_SINGLE_NODE_ALLREDUCE": "0"]))
            }
            if paired {
                trio.append(Run(label: "2 ranks, \(schedule), paired with no sync", ranks: 2,
                                arguments: ["--grad-sync", schedule, "--paired-worker"]))
                if pairedWithoutRaw {
                    trio.append(Run(label: "2 ranks, \(schedule), paired with no sync, no raw", ranks: 2,
                                    arguments: ["--grad-sync", schedule, "--paired-worker", "--no-raw"]))
                }
            }
            if compareWholeEmbedding {
                trio.append(Run(label: "2 ranks, \(schedule), embedding whole", ranks: 2,
                                arguments: ["--grad-sync", schedule, "--token-embedding", "whole"]))
            }
        }
        trio.append(Run(label: "2 ranks, no sync", ranks: 2, arguments: ["--no-sync"]))
        if compareAligned {
            trio.append(Run(label: "2 ranks, no sync, aligned", ranks: 2, arguments: ["--no-sync", "--align-steps"]))
        }
        var plan: [Run] = []
        for _ in 0..<rounds { plan += trio }
        if !skipZero1 { plan.append(Run(label: "2 ranks, ZeRO-1", ranks: 2, arguments: ["--zero1"])) }
        if oversubscribed {
            plan.append(Run(label: "4 ranks (oversubscribed)", ranks: 4, arguments: ["--grad-sync", schedules[0]]))
            if !skipZero1 { plan.append(Run(label: "4 ranks, ZeRO-1 (oversubscribed)", ranks: 4, arguments: ["--zero1"])) }
        }
        print("bench-\(p.rawValue): \(GPTLayout(config: p.config).count) parameters, B=\(p.batch) T=\(p.seqLen) per rank, "
              + "\(threads) thread(s) per rank, mpirun --bind-to \(bind) (4 ranks: --oversubscribe), \(steps) timed steps after \(warmup) warm-up, "
              + "gradients \(wire.rawValue == "none" ? "float32" : "bf16"), load average \(ScalingWorker.loadAverage())")
        fflush(stdout)
        var results: [String: [[String: Any]]] = [:]
        var order: [String] = []
        for run in plan {
            var result: [String: Any] = [:]
            for attempt in 1...3 {
                if waitIdle > 0 { CPUUsage.waitUntilIdle(below: waitIdle, atMost: 600) }
                result = try launch(run, executable: executable, common: common)
                let foreign = result["foreign_cores"] as? Double ?? 0
                if foreign <= maxForeign || attempt == 3 { break }
                FileHandle.standardError.write(Data(String(format: "  %@: discarded, other processes used %.2f cores meanwhile; again\n",
                                                           run.label, foreign).utf8))
            }
            if results[run.label] == nil { order.append(run.label) }
            results[run.label, default: []].append(result)
            let tps = result["tokens_per_s"] as? Double ?? 0
            FileHandle.standardError.write(Data(String(format: "  %@: %.0f tokens/s\n", run.label, tps).utf8))
        }
        report(order: order, results: results, preset: p)
    }

    /// Writes 200k random tokens below the preset's vocabulary as one shard; returns its path.
    private func writeRandomTokens(_ p: BenchPreset, directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 7)
        let tokens = (0..<200_000).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
        let writer = try ShardWriter(directory: directory, prefix: "train", shardTokens: tokens.count, wideTokens: false)
        try writer.append(tokens)
        return try writer.finish()[0]
    }

    /// Runs one configuration under mpirun and returns rank 0's `SCALING` record.
    private func launch(_ run: Run, executable: String, common: [String]) throws -> [String: Any] {
        var args = ["mpirun", "-n", "\(run.ranks)"]
        args += run.ranks > ProcessInfo.processInfo.activeProcessorCount ? ["--oversubscribe"] : ["--bind-to", bind]
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
            throw CLIError("\(run.label) failed (status \(process.terminationStatus)):\n\(output)")
        }
        var result = object
        result["foreign_cores"] = foreign
        return result
    }

    /// Exposed communication as a share of the step, per rank, from one run's record. After backward
    /// the rank that finished backward last waited for the communication alone; the others also
    /// waited for it (straggler wait, not communication).
    private static func exposedShares(_ record: [String: Any]) -> [Double] {
        guard let exposed = record["exposed_ms"] as? [Double], let steps = record["step_ms"] as? [Double] else { return [] }
        return zip(exposed, steps).map { $0 / $1 }
    }

    /// Prints the table and the ratios against the goals.
    private func report(order: [String], results: [String: [[String: Any]]], preset p: BenchPreset) {
        func median(_ label: String, _ key: String) -> Double? {
            let values = (results[label] ?? []).compactMap { $0[key] as? Double }
            return values.isEmpty ? nil : ScalingWorker.median(values)
        }
        func perRank(_ label: String, _ key: String) -> String {
            guard let last = results[label]?.last?[key] as? [Double] else { return "-" }
            return last.map { String(format: "%.0f", $0) }.joined(separator: "/")
        }
        print("")
        print("run                                 ranks  tokens/s  step ms/rank (last round)  exposed min/max  comm-thread CPU ms/step  grad-sync busbw  raw busbw  MFU    peak RSS MiB/rank  other load")
        for label in order {
            guard let r = results[label]?.last else { continue }
            let tps = median(label, "tokens_per_s") ?? 0
            let shares = Self.exposedShares(r)
            let exposedText = String(format: "%.1f/%.1f%%", (shares.min() ?? 0) * 100, (shares.max() ?? 0) * 100)
            let sync = (r["sync_busbw_gbs"] as? Double).map { String(format: "%6.2f GB/s", $0) } ?? "      -   "
            let raw = (r["raw_busbw_gbs"] as? Double).map { String(format: "%6.2f GB/s", $0) } ?? "      -   "
            let rounds = results[label]?.count ?? 1
            let others = (results[label] ?? []).compactMap { $0["foreign_cores"] as? Double }.max() ?? 0
            let shown = label + (label.hasSuffix("auto") ? " → \(r["schedule"] as? String ?? "?")" : "") + (rounds > 1 ? " (×\(rounds))" : "")
            print(String(format: "%@ %5d  %8.0f  %@  %@  %@  %@      %@  %4.1f%%  %@  %.2f cores",
                         shown.padding(toLength: 35, withPad: " ", startingAt: 0),
                         r["ranks"] as? Int ?? 0, tps, perRank(label, "step_ms").padding(toLength: 25, withPad: " ", startingAt: 0),
                         exposedText.leftPad(15), perRank(label, "comm_thread_cpu_ms").padding(toLength: 23, withPad: " ", startingAt: 0), sync, raw, ((r["mfu"] as? Double) ?? 0) * 100,
                         perRank(label, "peak_rss_mb").padding(toLength: 17, withPad: " ", startingAt: 0), others))
        }
        print("")
        guard let one = median("1 rank", "tokens_per_s") else { return }
        let noSync = median("2 ranks, no sync", "tokens_per_s")
        for label in order where label.contains("paired with no sync") {
            let ratios = (results[label] ?? []).compactMap { $0["pair_ratio_median"] as? Double }
            let pairs = (results[label] ?? []).flatMap { ($0["pair_ratios"] as? [Double]) ?? [] }
            guard !ratios.isEmpty else { continue }
            var line = String(format: "%@: synchronised ÷ no-sync step in the same job %.3f× (median of %d pairs; per round %@; goal ≥ 0.97×)",
                              label, ScalingWorker.median(pairs), pairs.count, ratios.map { String(format: "%.3f", $0) }.joined(separator: ", "))
            let bus = (results[label] ?? []).flatMap { ($0["pair_busbw_ratios"] as? [Double]) ?? [] }
            // Only after backward does one call move the whole gradient (overlap's includes waiting for backward).
            let schedule = results[label]?.last?["schedule"] as? String
            if !bus.isEmpty, schedule == "after-backward" {
                line += String(format: ", grad-sync busbw %.0f%% of a raw MPI_Allreduce timed after each synchronised step (median of %d; goal ≥ 90%%)",
                               ScalingWorker.median(bus) * 100, bus.count)
            }
            print(line)
        }
        for label in order where label.hasPrefix("2 ranks, ") && !label.contains("no sync") && !label.contains("ZeRO") {
            guard let two = median(label, "tokens_per_s") else { continue }
            var line = String(format: "%@: %.2f× one rank (goal on bench-s ≥ 1.9×)", label, two / one)
            if let noSync { line += String(format: ", %.3f× the no-sync run (goal ≥ 0.97×)", two / noSync) }
            if let aligned = median("2 ranks, no sync, aligned", "tokens_per_s") {
                line += String(format: ", %.3f× the aligned no-sync run", two / aligned)
            }
            // Per round: the gradient sync against the raw MPI_Allreduce timed in the same processes.
            let busRatios = (results[label] ?? []).compactMap { r -> Double? in
                guard let s = r["sync_busbw_gbs"] as? Double, let w = r["raw_busbw_gbs"] as? Double, w > 0 else { return nil }
                return s / w
            }
            if !busRatios.isEmpty {
                line += String(format: ", grad-sync busbw %.0f%% of raw MPI_Allreduce (goal ≥ 90%%; median of %d)",
                               ScalingWorker.median(busRatios) * 100, busRatios.count)
            }
            // Per round, the rank that waited least: its wait is communication alone.
            let exposed = (results[label] ?? []).compactMap { Self.exposedShares($0).min() }
            if !exposed.isEmpty {
                line += String(format: ", exposed communication %.1f%% of the step (the rank that finished backward last; median of %d; goal ≤ 5%% on bench-m)",
                               ScalingWorker.median(exposed) * 100, exposed.count)
            }
            print(line)
        }
        if let noSync { print(String(format: "2 ranks, no sync: %.2f× one rank (two processes side by side, nothing exchanged)", noSync / one)) }
        if let noSync, let aligned = median("2 ranks, no sync, aligned", "tokens_per_s") {
            print(String(format: "2 ranks, no sync, aligned: %.3f× the unaligned no-sync run (the cost of starting every step together, without communication)", aligned / noSync))
        }
        let plainLabel = order.first { $0.hasPrefix("2 ranks, ") && !$0.contains("no sync") && !$0.contains("ZeRO") }
        if let plainLabel, let plain = results[plainLabel]?.last?["peak_rss_mb"] as? [Double],
           let zero = results["2 ranks, ZeRO-1"]?.last?["peak_rss_mb"] as? [Double] {
            let moments = Double(GPTLayout(config: p.config).count) * 8 / 1_048_576
            print(String(format: "peak RSS per rank: %.0f MiB plain, %.0f MiB ZeRO-1 (AdamW moments %.0f MiB → %.0f MiB per rank)",
                         plain.max() ?? 0, zero.max() ?? 0, moments, moments / 2))
        }
        print("load average at the end: \(ScalingWorker.loadAverage())")
    }
}
