import Config
import Model

/// A Hugging Face directory read into this project's terms (see `ModelFamily.importHuggingFace`).
public struct HuggingFaceImport {
    /// The run config with the imported model section.
    public let config: RunConfig
    /// The model's tensor table.
    public let table: any ParameterTable
    /// The parameters, in `table`'s layout.
    public let params: FlatBuffer
    /// The model's shape, for one line of output.
    public let summary: String
    /// Tensors the directory lacked, left as initialised (a `BertModel`'s MLM head).
    public var fresh: [String] = []
    /// Tensors of the directory the model does not use (a `BertModel`'s pooler).
    public var unused: [String] = []
}
