import Config
import Kernels

/// `mixed_precision`: Accelerate's semantics on CPUs. `bf16` gives every linear layer bf16 operands with
/// fp32 accumulation (a `BF16Matmul` per replica); master weights, gradients, AdamW state and
/// checkpoints stay fp32, so a run can switch precision when it resumes.
extension Trainer {
    /// `mixed_precision` as this CPU runs it: `auto` is `bf16` where the CPU multiplies bf16 natively
    /// (avx512_bf16 or AMX, and `PRETRAIN_BF16=emulated` does not ask for emulation), else `no`,
    /// because emulated bf16 is slower than fp32 (BENCHMARKS.md, "Tiny"); other values are returned as given.
    public static func effectiveMixedPrecision(_ value: String) -> String {
        guard value == "auto" else { return value }
        return BF16Matmul.plannedElementSize == 2 ? "bf16" : "no"
    }

    /// The run's bf16 matmul, or nil for `mixed_precision: 'no'` (and `auto` on a CPU without native
    /// bf16). The config schema already refuses other values with the accepted ones listed.
    static func mixedPrecision(_ config: RunConfig) throws -> BF16Matmul? {
        guard effectiveMixedPrecision(config.launch.mixedPrecision) == "bf16" else { return nil }
        do { return try BF16Matmul() } catch let e as OneDNNError {
            throw TrainingError("mixed_precision: bf16 could not start oneDNN (\(e.message)); set mixed_precision: 'no' to train in fp32")
        }
    }

    /// The precision the start line names: fp32, bf16 or bf16 emulated, and whether `auto` chose it.
    static func precisionName(_ bf16: BF16Matmul?, _ config: RunConfig) -> String {
        let name = bf16.map { $0.path == .native ? "bf16" : "bf16 emulated" } ?? "fp32"
        return config.launch.mixedPrecision == "auto" ? "\(name) (mixed_precision: auto)" : name
    }

    /// The one line said at start when this CPU runs bf16 without bf16 instructions.
    static func emulationNotice(_ bf16: BF16Matmul) -> String {
        let why = BF16Matmul.cpuHasNativeBF16 ? "bf16 emulation was asked for (PRETRAIN_BF16=emulated)" : "this CPU has no native bf16 (avx512_bf16 / amx_bf16)"
        return "mixed_precision: bf16: \(why); the same bf16-rounded numbers go through fp32 matmuls, at fp32 speed"
    }
}
