import Model

/// The T5 benchmark shapes shared with the PyTorch peer (Tests/Peers/torch_t5.py): T5 v1.0 blocks
/// (ReLU feed-forward, tied embeddings, 32 position buckets up to distance 128), no dropout, random
/// source and target tokens with no padding.
///
/// A step's tokens are its source plus its target tokens, B·(S + T), and tokens/s counts them so on
/// both sides.
public enum T5BenchPreset: String, StepPreset, CaseIterable {
    /// A small T5 costing about as much per step as the GPT preset `s`: d 384, 6+6 layers, 6 heads of
    /// 64, d_ff 1536, vocab 8192, B 4 (4·256 encoder and 4·256 decoder tokens against GPT-s's 8·256).
    case s = "t5-s"
    /// t5-base's shape: d 768, 12+12 layers, 12 heads of 64, d_ff 3072, vocab 32128, B 4.
    case base = "t5-base"

    /// The preset called `name` (any case), or a `BenchmarkError` telling the valid names.
    public static func named(_ name: String) throws -> T5BenchPreset {
        guard let preset = T5BenchPreset(rawValue: name.lowercased()) else {
            throw BenchmarkError("--preset \(name) is not a T5 preset; use t5-s or t5-base")
        }
        return preset
    }

    /// Whether `name` asks for a T5 preset rather than a GPT one.
    public static func isT5(_ name: String) -> Bool { name.lowercased().hasPrefix("t5") }

    public var name: String { rawValue }

    /// The model shape.
    public var config: T5Config {
        var c = T5Config()
        switch self {
        case .s: (c.vocabSize, c.dModel, c.dKV, c.dFF, c.numLayers, c.numDecoderLayers, c.numHeads) = (8192, 384, 64, 1536, 6, 6, 6)
        case .base: (c.vocabSize, c.dModel, c.dKV, c.dFF, c.numLayers, c.numDecoderLayers, c.numHeads) = (32128, 768, 64, 3072, 12, 12, 12)
        }
        c.dropoutRate = 0
        return c
    }
    /// Micro-batch per process.
    public var batch: Int { 4 }
    /// Source (encoder) and target (decoder) tokens per sequence.
    public var sourceLength: Int { 256 }
    public var targetLength: Int { 256 }

    public var shapeSummary: String { "B=\(batch) S=\(sourceLength) T=\(targetLength) (tokens/s counts B·(S+T))" }

    /// Matmul FLOPs of one training step (3 × forward: each weight's product, the attention scores and
    /// their weighted sums over all (query, key) pairs, the decoder's cross-attention and the head).
    public var trainingFLOPs: Double {
        let c = config, B = Double(batch), S = Double(sourceLength), T = Double(targetLength)
        let C = Double(c.dModel), D = Double(c.attentionWidth), F = Double(c.dFF), V = Double(c.vocabSize)
        let ffn = Double(c.feedForward == .relu ? 2 : 3) * C * F
        let encoder = Double(c.numLayers) * (2 * B * S * (4 * C * D + ffn) + B * 4 * S * S * D)
        let decoder = Double(c.numDecoderLayers) * (2 * B * T * (6 * C * D + ffn) + 2 * B * S * 2 * C * D + B * 4 * T * (T + S) * D)
        return 3 * (encoder + decoder + 2 * B * T * C * V)
    }
}
