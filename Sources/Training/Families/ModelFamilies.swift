import Config
import Model

/// The registry of model families: the only place an `Architecture` is mapped to its implementation.
public enum ModelFamilies {
    /// Every family, in `Architecture` order.
    public static let all: [any ModelFamily.Type] = Architecture.allCases.map(family)

    /// The implementation of `architecture`.
    public static func family(_ architecture: Architecture) -> any ModelFamily.Type {
        switch architecture {
        case .gpt: GPTFamily.self
        case .bert: BERTFamily.self
        case .t5: T5Family.self
        case .transformer: TransformerFamily.self
        }
    }

    /// The implementation of `config`'s `model.arch`.
    public static func family(of config: RunConfig) -> any ModelFamily.Type { family(config.family.arch) }

    /// The family that imports Hugging Face `model_type` `type`, or nil.
    public static func family(huggingFaceModelType type: String) -> (any ModelFamily.Type)? {
        all.first { $0.huggingFaceModelTypes.contains(type) }
    }
}
