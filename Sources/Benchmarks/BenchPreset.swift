import Model

/// The benchmark model shapes shared with the PyTorch peer (../shared/bench/torch_gpt.py).
public enum BenchPreset: String, StepPreset {
    case s, m

    /// The preset named `name` (any case), or a `BenchmarkError` telling the valid names.
    public static func named(_ name: String) throws -> BenchPreset {
        guard let preset = BenchPreset(rawValue: name.lowercased()) else {
            throw BenchmarkError("--preset \(name) is not a preset; use s or m")
        }
        return preset
    }

    public var name: String { rawValue }
    public var shapeSummary: String { "B=\(batch) T=\(seqLen)" }

    /// The GPT shape.
    public var config: GPTConfig {
        switch self {
        case .s: GPTConfig(vocabSize: 8192, maxSeqLen: 256, nLayer: 6, nHead: 6, dModel: 384)
        case .m: GPTConfig(vocabSize: 50257, maxSeqLen: 1024, nLayer: 12, nHead: 12, dModel: 768)
        }
    }
    /// Micro-batch per process.
    public var batch: Int { self == .s ? 8 : 4 }
    /// Sequence length of a training step.
    public var seqLen: Int { 256 }
}
