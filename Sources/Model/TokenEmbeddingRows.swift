/// The token-embedding gradient of one backward, kept as one row per token instead of added into the
/// gradient table: row n (`width` floats) belongs to table row `tokens[n]`.
///
/// A model returns it from a backward asked to defer the token embedding, so that the table's dense
/// gradient (with a tied LM head, the head's share: nearly all of it) is final as soon as the head
/// has run and can be sent while the blocks' backward runs, instead of after everything. The rows are
/// views into the model's activations: valid until its next forward.
public struct TokenEmbeddingRows {
    /// The token each row belongs to (N).
    public let tokens: UnsafePointer<Int32>
    /// The rows, (N, width) row-major, already scaled like the rest of the gradient.
    public let rows: UnsafePointer<Float>
    /// N, the number of rows (batch × sequence length of the last forward).
    public let count: Int
    /// C, the embedding width.
    public let width: Int

    /// Rows over existing buffers.
    public init(tokens: UnsafePointer<Int32>, rows: UnsafePointer<Float>, count: Int, width: Int) {
        self.tokens = tokens
        self.rows = rows
        self.count = count
        self.width = width
    }
}
