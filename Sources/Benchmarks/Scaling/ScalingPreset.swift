import Config

/// A preset `bench scaling` trains through the real `Trainer` in every rank: the GPT presets
/// (`BenchPreset`) and the T5 ones (`T5BenchPreset`).
public protocol ScalingPreset: StepPreset {
    /// Sets the run config's model and family keys, micro-batch and `training.seq_len` to the preset's.
    func configure(_ config: inout RunConfig)
    /// Token ids of one rank's step, as tokens/s counts them (GPT B·T; T5 B·(S+T), T the
    /// span-corrupted target length).
    var tokensPerStep: Int { get }
    /// Trained parameters (tied tensors once): AdamW keeps two moments of each.
    var parameterCount: Int { get }
    /// The shape of one rank's step, for the header line.
    var scalingSummary: String { get }
    /// The model's vocabulary: random training tokens are drawn below it.
    var vocabularySize: Int { get }
    /// Writes the tokenizer training needs into `directory`; returns its path ("" when it needs none)
    /// and the ids it reserves for special tokens, which the random tokens avoid.
    func writeTokenizer(directory: String) throws -> (path: String, reserved: Range<Int32>)
    /// The report's goal for 2 ranks ÷ 1 rank, and for the exposed communication, where the preset
    /// family has one (GPT's, measured on bench-s and bench-m); nil: only the no-sync goal applies.
    var speedupGoal: String? { get }
    var exposedGoal: String? { get }
}

extension ScalingPreset {
    public var speedupGoal: String? { "goal on bench-s ≥ 1.9×" }
    public var exposedGoal: String? { "goal ≤ 5% on bench-m" }

    /// The scaling preset called `name` (any case): T5 when it starts with t5, GPT otherwise; or a
    /// `BenchmarkError` telling the valid names.
    static func scalingPreset(named name: String) throws -> any ScalingPreset {
        T5BenchPreset.isT5(name) ? try T5BenchPreset.named(name) : try BenchPreset.named(name)
    }
}
