import ArgumentParser
import Benchmarks
import Distributed
import Foundation

/// `pretrain bench scaling`: data-parallel scaling of the training step on a benchmark preset.
struct BenchScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Compare 1 rank, 2 ranks and 2 ranks without gradient communication, in one sitting.",
        discussion: """
        Run it directly (not under mpirun): it writes random tokens, then starts mpirun itself for each configuration, each training the preset with the real Trainer (same per-rank micro-batch): 1 rank; 2 ranks; 2 ranks with --no-sync (nothing exchanged: what the same two processes do without communication; side by side they are slower than one alone, which this separates); 2 ranks with ZeRO-1 (peak memory); optionally 4 ranks, oversubscribed.

        Reported per configuration: job tokens/s, median step per rank, exposed communication (what the step waited for; min/max over ranks: the rank that finished backward last waited for the communication alone, the others also for that slower rank), the communication thread's CPU time per step (what overlapped communication took from the cores even when the step did not wait for it), gradient-sync bus bandwidth next to a raw MPI_Allreduce of the same bytes in the same processes, MFU, peak RSS per rank, and the CPU other processes used meanwhile (cores; the worst round); then the ratios against the goals. Each run first waits until the machine is idle (--wait-idle), since other work on a 2-core machine distorts every number.

        --paired adds one more 2-rank job per schedule that alternates synchronised and no-sync steps, each after an untimed barrier, and times a raw MPI_Allreduce after every synchronised step: on a shared, noisy machine this pairs each comparison in time (separate runs minutes apart can differ by 10 %). Its report adds the lockstep ceiling: the no-sync pairs held to their slower rank, what a synchronisation that cost nothing would read, so the ratio splits into keeping in step (the machine) and the synchronisation itself. --compare-aligned-no-sync adds no-sync ranks that meet at a barrier before every step: the synchronised run against it is the cost of communication without the cost of keeping in step.

        A T5 preset trains span corruption on random tokens with a byte-level tokenizer holding pad, EOS and 100 sentinels; its tokens/s counts source plus span-corrupted target tokens.

        Example: pretrain bench scaling --preset s --steps 5 --rounds 2
        """.helpParagraphs)

    @Option(help: "Model preset: s or m (GPT), t5-s or t5-base (T5, span corruption).") var preset: String = "s"
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
    @Flag(name: .customLong("compare-plain-sum"),
          help: "Also run each 2-rank schedule (and paired job) with PRETRAIN_PROGRESSIVE_SUM=0: one plain sum after backward instead of the progressive one, in the same rotation.")
    var comparePlainSum = false
    @Flag(name: .customLong("paired-progressive"),
          help: "Also run, per round, one 2-rank job whose synchronised steps alternate between the progressive and the plain sum after backward, each after an untimed barrier; reports the median per-pair ratio.")
    var pairedProgressive = false
    @Flag(help: .hidden) var pairedProgressiveWorker = false
    @Option(help: "Gradient compression for the multi-rank runs: none or bf16.") var compression: String = "none"
    @Option(help: "fp32, or bf16 for every run (mixed_precision: bf16).") var precision: String = "fp32"
    @Option(help: "Before each run wait (up to 10 min) until other processes use less than this many cores (0: don't wait).")
    var waitIdle: Double = 0.3
    @Option(help: "Redo a run (up to twice) when other processes used more than this many cores during it.")
    var maxForeign: Double = 0.25

    @Flag(help: .hidden) var worker = false
    @Flag(help: "Bench only (with --worker): exchange nothing per step (no gradient sync, no loss average).")
    var noSync = false
    @Flag(help: .hidden) var zero1 = false
    @Option(help: .hidden) var data: String = ""
    @Option(help: .hidden) var tokenizer: String = ""
    @Option(help: .hidden) var label: String = ""
    @Option(help: .hidden) var tokenEmbedding: String = "auto"
    @Flag(help: .hidden) var pairedWorker = false
    @Flag(help: .hidden) var noRaw = false
    @Flag(help: .hidden) var alignSteps = false

    func run() throws {
        var settings = try ScalingBenchmark.Settings(preset: preset, steps: steps, warmup: warmup, threads: threads, rounds: rounds,
                                                     gradSync: gradSync, bind: bind, compression: compression) { _ = try TrainCommand.parseGradSync($0) }
        (settings.oversubscribed, settings.skipZero1, settings.compareMPI, settings.compareWholeEmbedding, settings.precision) =
            (oversubscribed, skipZero1, compareMPI, compareWholeEmbedding, precision)
        (settings.compareAligned, settings.paired, settings.pairedWithoutRaw, settings.waitIdle, settings.maxForeign) =
            (compareAligned, paired, pairedWithoutRaw, waitIdle, maxForeign)
        settings.comparePlainSum = comparePlainSum
        settings.pairedProgressive = pairedProgressive
        try settings.validateCombinations()
        if worker {
            let deferring: Bool?
            switch tokenEmbedding {
            case "auto": deferring = nil
            case "deferred": deferring = true
            case "whole": deferring = false
            default: throw CLIError("--token-embedding \(tokenEmbedding) is not auto, deferred or whole")
            }
            var job = ScalingWorker(preset: settings.preset, data: data, steps: steps, warmup: warmup, threads: threads,
                              overlap: try TrainCommand.parseGradSync(settings.schedules[0]),
                              synchronize: !noSync, zero1: zero1, compression: settings.compression, deferTokenEmbedding: deferring,
                              paired: pairedWorker, pairedRaw: !noRaw, alignSteps: alignSteps, label: label)
            job.mixedPrecision = precision == "bf16" ? "bf16" : "no"
            job.tokenizer = tokenizer
            job.pairedProgressive = pairedProgressiveWorker
            try job.run()
            return
        }
        if MPILibrary.launcherLayout != nil {
            throw CLIError("run `pretrain bench scaling` directly, not under mpirun: it starts mpirun itself for each configuration")
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let result = try ScalingBenchmark(settings: settings, executable: executable).run { line in
            print(line)
            fflush(stdout)
        }
        result.lines.forEach { print($0) }
    }
}
