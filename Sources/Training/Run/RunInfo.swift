/// Facts about a run once it is set up.
public struct RunInfo: Sendable {
    /// This rank.
    public var rank: Int
    /// Ranks in the job.
    public var worldSize: Int
    /// Compute threads of this rank.
    public var threads: Int
    /// Model parameters.
    public var parameters: Int
    /// Micro-batches per rank per optimizer step.
    public var accumulationSteps: Int
    /// Tokens in one global batch.
    public var tokensPerStep: Int
    /// Training sequences per epoch.
    public var trainSequences: Int
    /// The config as YAML, every key resolved.
    public var resolvedConfig: String
    /// The communicator's backend name.
    public var backend: String
    /// How the matrix products multiply: "fp32", "bf16" or "bf16 emulated", with "(mixed_precision:
    /// auto)" after it when the config left the choice to this CPU.
    public var precision = "fp32"
    /// How gradients are combined across ranks, for the start line ("" on one rank), e.g. "gradients
    /// summed after backward, progressively".
    public var gradientSync = ""
}
