import ArgumentParser
import Benchmarks
import Foundation

/// `pretrain bench checkpoint`: compression ratio and speed per zstd level (with and without the
/// byte-plane shuffle), save and load MB/s of one rank, and the staging copy an async save costs.
struct BenchCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Measure checkpoint compression ratio per level, save/load MB/s per rank and the async-save stall.",
        discussion: """
        The state is a preset model (m: GPT-2 124M shape, about 1.5 GB of float32 for parameters + AdamW m + v) after --train-steps real AdamW steps on random tokens (B 2, T 64), so the moments are those of an early run. One process stands for one rank of --ranks: it writes and reads that rank's share (an even 1/ranks of the three buffers) with one thread, as a rank's background writer does. The stall is the copy of that share into the staging buffer on the training thread.

        Example: pretrain bench checkpoint --preset m --ranks 2 --dir /tmp/ckpt-bench
        """.helpParagraphs)

    @Option(help: "Model preset: s or m.") var preset: String = "m"
    @Option(help: "zstd levels for the ratio table (comma separated; negative = fast modes).") var levels: String = "-5,-3,-1,1,2,3"
    @Option(help: "The level for the save/load timing.") var level: Int = 1
    @Option(help: "Ranks the state is split over; this process is one of them.") var ranks: Int = 2
    @Option(help: "Real AdamW steps before measuring (realistic moments).") var trainSteps: Int = 3
    @Option(help: "MB of each buffer sampled for the ratio table (evenly spaced 4 MiB chunks).") var sampleMB: Int = 96
    @Option(help: "Timed repetitions of save and load (the median is reported).") var repeats: Int = 3
    @Option(help: "Scratch directory for the shard files (removed afterwards).") var dir: String = NSTemporaryDirectory() + "pretrain-bench-checkpoint"

    func run() throws {
        let settings = try CheckpointBenchmark.Settings(preset: preset, levels: levels, level: level, ranks: ranks, trainSteps: trainSteps,
                                                        sampleMB: sampleMB, repeats: repeats, dir: dir)
        try CheckpointBenchmark.run(settings).lines.forEach { print($0) }
    }
}
