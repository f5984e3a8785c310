import Kernels

/// The flags `bench step` and `bench mlm` share, checked once, for a GPT (`BenchPreset`) or a T5
/// (`T5BenchPreset`) preset.
public struct StepBenchmarkSettings<Preset: StepPreset>: Sendable {
    public var preset: Preset
    /// Threads for BLAS and the project's loops.
    public var threads: Int
    /// Timed steps (the median is reported).
    public var steps: Int
    /// Untimed warm-up steps.
    public var warmup: Int
    /// Whether the linear layers take bf16 operands (`mixed_precision: bf16`) or stay fp32.
    public var bf16: Bool

    /// Checks the values, throwing the command line's one-line messages.
    public init(preset: String, threads: Int, steps: Int, warmup: Int, precision: String = "fp32") throws {
        guard ["fp32", "bf16"].contains(precision) else { throw BenchmarkError("--precision \(precision) is not fp32 or bf16") }
        bf16 = precision == "bf16"
        self.preset = try Preset.named(preset)
        guard threads >= 1 else { throw BenchmarkError("--threads \(threads) must be at least 1") }
        guard steps >= 1, warmup >= 0 else { throw BenchmarkError("--steps must be ≥ 1 and --warmup ≥ 0") }
        self.threads = threads
        self.steps = steps
        self.warmup = warmup
    }

    /// The bf16 matmul `bf16` asks for (nil: fp32) and the peak MFU is reported against: the bf16
    /// matmul's, or sgemm's, measured now at the current thread count.
    func matmulAndPeak() throws -> (BF16Matmul?, Double) {
        let bf16 = self.bf16 ? try BF16Matmul() : nil
        return (bf16, bf16?.measurePeakGFLOPS() ?? BLASRuntime.measurePeakGFLOPS())
    }
}
