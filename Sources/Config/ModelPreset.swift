import Model

/// A named model size (`model.preset`): the shape keys it sets, its parameter count, and the run
/// settings `pretrain config` offers with it (tiny's are exactly configs/tiny.yaml's).
///
/// In a YAML file the preset fills the shape keys (`model.vocab_size`, `max_seq_len`, `n_layer`,
/// `n_head`, `d_model`) that the same file does not set; `--set model.preset=NAME` sets all of them
/// (a later `--set` changes one). `none` leaves every key to its own default, which is tiny's shape.
public enum ModelPreset: String, ConfigChoice {
    case none, tiny, small, gpt2

    /// The shape keys a preset sets, in the order of the schema.
    public static let shapeKeys = ["model.vocab_size", "model.max_seq_len", "model.n_layer", "model.n_head", "model.d_model"]

    /// (vocab_size, max_seq_len, n_layer, n_head, d_model); nil for `none`.
    public var shape: (vocab: Int, positions: Int, layers: Int, heads: Int, width: Int)? {
        switch self {
        case .none: nil
        case .tiny: (2048, 128, 4, 4, 128)
        case .small: (8192, 256, 6, 6, 384)
        case .gpt2: (50257, 1024, 12, 12, 768)
        }
    }

    /// The preset's values for `shapeKeys`, as `key=value` overrides.
    public var shapeSettings: [String] {
        guard let s = shape else { return [] }
        return zip(Self.shapeKeys, [s.vocab, s.positions, s.layers, s.heads, s.width]).map { "\($0)=\($1)" }
    }

    /// `config.model` with this preset's shape (unchanged for `none`).
    public func apply(to model: GPTConfig) -> GPTConfig {
        guard let s = shape else { return model }
        var m = model
        (m.vocabSize, m.maxSeqLen, m.nLayer, m.nHead, m.dModel) = (s.vocab, s.positions, s.layers, s.heads, s.width)
        return m
    }

    /// Parameters of a GPT of this size (the tied LM head counted once).
    public var gptParameters: Int { GPTLayout(config: apply(to: GPTConfig())).count }

    /// "tiny (1.1M parameters)".
    public var summary: String { "\(rawValue) (\(Self.millions(gptParameters)) parameters)" }

    /// 1_071_872 → "1.1M", 13_891_584 → "13.9M", 124_439_808 → "124M".
    public static func millions(_ count: Int) -> String {
        count >= 100_000_000 ? "\(Int((Double(count) / 1e6).rounded()))M" : "\((Double(count) / 1e5).rounded() / 10)M"
    }

    /// The run settings `pretrain config` suggests with this size (sequence length, batch, steps,
    /// learning rate; for tiny also `mixed_precision: auto` and `optimizer.kind: muon`): for tiny, those
    /// of configs/tiny.yaml, so that its answer is that file's run.
    public var runSettings: [String] {
        switch self {
        case .none: []
        case .tiny: ["mixed_precision=auto", "training.seq_len=128", "training.micro_batch=16", "training.global_batch=32", "training.steps=900",
                     "optimizer.kind=muon", "optimizer.lr=0.005", "optimizer.weight_decay=0.1", "schedule.warmup_steps=40", "training.eval_interval=250",
                     "training.eval_steps=8"]
        case .small: ["training.seq_len=256", "training.micro_batch=8", "training.global_batch=0", "training.steps=900", "optimizer.lr=0.001"]
        case .gpt2: ["training.seq_len=1024", "training.micro_batch=8", "training.global_batch=0", "training.steps=200", "optimizer.lr=0.0006"]
        }
    }
}
