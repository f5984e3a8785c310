import Model

/// A config value chosen from a fixed list of names: the YAML text is the raw value.
public protocol ConfigChoice: RawRepresentable, CaseIterable, Sendable where RawValue == String {}

extension Architecture: ConfigChoice {}
extension GPTConfig.Positions: ConfigChoice {}
extension T5Config.FeedForward: ConfigChoice {}
extension Optimizer.Kind: ConfigChoice {}

extension RunConfig {
    /// `training.objective`: what one step predicts; `auto` follows `model.arch`.
    public enum ObjectiveSetting: String, ConfigChoice {
        case auto, clm, mlm
        case spanCorruption = "span_corruption"
        case seq2seq
    }

    /// The objective a run trains, after `auto` is resolved.
    public enum Objective: String, Sendable {
        /// Next-token prediction (causal LM), GPT's.
        case clm
        /// Masked-token prediction, BERT's.
        case mlm
        /// T5's span corruption: dropped spans predicted by the decoder.
        case spanCorruption = "span_corruption"
        /// Supervised sequence-to-sequence: the decoder predicts each pair's target from its source.
        case seq2seq
    }

    /// `model.norm`: where the LayerNorms sit; `auto` is each family's own (GPT pre, BERT post).
    public enum NormSetting: String, ConfigChoice {
        case auto, post, pre
    }

    /// `schedule.kind`: the learning-rate schedule.
    public enum ScheduleKind: String, ConfigChoice {
        /// Linear warmup, then cosine decay to `min_lr_ratio` × lr.
        case cosine
        /// The same lr every step.
        case constant
        /// Vaswani et al.'s d_model^-0.5 · min(step^-0.5, step · warmup^-1.5).
        case noam
    }

    /// `training.grad_compression`: the dtype gradients travel in.
    public enum GradCompression: String, ConfigChoice {
        case none, bf16
    }
}
