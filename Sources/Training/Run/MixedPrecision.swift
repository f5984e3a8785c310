import Config
import Kernels

/// `mixed_precision`: Accelerate's semantics on CPUs. `bf16` gives every linear layer bf16 operands with
/// fp32 accumulation (a `BF16Matmul` per replica); master weights, gradients, AdamW state and
/// checkpoints stay fp32, so a run can switch precision when it resumes.
extension Trainer {
    /// The run's bf16 matmul, or nil for `mixed_precision: 'no'`. The config schema already refuses
    /// other values with the accepted ones listed.
    static func mixedPrecision(_ config: RunConfig) throws -> BF16Matmul? {
        guard config.launch.mixedPrecision == "bf16" else { return nil }
        do { return try BF16Matmul() } catch let e as OneDNNError {
            throw TrainingError("mixed_precision: bf16 could not start oneDNN (\(e.message)); set mixed_precision: 'no' to train in fp32")
        }
    }

    /// The one line said at start when this CPU runs bf16 without bf16 instructions.
    static func emulationNotice(_ bf16: BF16Matmul) -> String {
        let why = BF16Matmul.cpuHasNativeBF16 ? "bf16 emulation was asked for (PRETRAIN_BF16=emulated)" : "this CPU has no native bf16 (avx512_bf16 / amx_bf16)"
        return "mixed_precision: bf16: \(why); the same bf16-rounded numbers go through fp32 matmuls, at fp32 speed"
    }
}
