import ArgumentParser
import Benchmarks
import Foundation

/// The flags `pretrain bench step` and `pretrain bench mlm` share.
struct StepBenchOptions: ParsableArguments {
    @Option(help: "Model preset: s or m (bench step also t5-s or t5-base).") var preset: String = "s"
    @Option(help: "Threads for BLAS and the project's loops.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Timed steps (the median is reported).") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2
    @Option(help: "fp32, or bf16: linear layers and attention multiply bf16 operands (mixed_precision: bf16).") var precision: String = "fp32"

    /// The checked settings (one-line errors for bad values).
    func settings<Preset: StepPreset>() throws -> StepBenchmarkSettings<Preset> {
        try StepBenchmarkSettings(preset: preset, threads: threads, steps: steps, warmup: warmup, precision: precision)
    }
}
