/// The model families the project trains, as `model.arch` names them.
///
/// Parsing the config is the only place a family is named by a string; everything after it switches
/// over this enum (and `Training`'s family registry maps each case to its implementation).
public enum Architecture: String, CaseIterable, Codable, Sendable {
    /// GPT-2-style decoder, trained as a causal LM.
    case gpt
    /// BERT encoder, trained as a masked LM (optionally with next-sentence prediction).
    case bert
    /// T5 encoder-decoder, trained with span corruption.
    case t5
    /// The encoder-decoder of "Attention Is All You Need" (`torch.nn.Transformer`), trained on pairs.
    case transformer

    /// The family's name in messages ("GPT", "BERT", "T5", "Transformer").
    public var displayName: String { self == .transformer ? "Transformer" : rawValue.uppercased() }

    /// What `pretrain train` trains for this family, for messages.
    public var pretrainingTask: String {
        switch self {
        case .gpt: "a GPT language model"
        case .bert: "the masked-LM heads"
        case .t5: "T5 with span corruption"
        case .transformer: "the Transformer on pairs"
        }
    }
}
