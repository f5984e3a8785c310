/// Incremental decoding with an encoder-decoder (`T5Inference`, `TransformerInference`): what greedy
/// decoding, sampling and `BeamSearch` need, so that both families share them.
///
/// A decoder encodes one source (`start`), then advances R = `rows` decoder rows (the beams of a beam
/// search; 1 otherwise) one position at a time against its caches (`append(rows:)`), leaving each
/// row's (V) next-token logits in `logits(row:)`; `reorder` makes the rows follow the surviving beams.
public protocol Seq2SeqDecoder: AnyObject {
    /// Decoder rows advanced together (beams), and the decoder's self-attention keys and values (its
    /// capacity bounds the new tokens).
    var rows: Int { get }; var cache: KVCache { get }
    /// V, the model's vocabulary size; the id that ends an output, and the first decoder input.
    var vocabularySize: Int { get }; var eosTokenId: Int32 { get }; var decoderStartTokenId: Int32 { get }
    /// Encodes `source` (no padding) and empties the decoder cache: a new sequence starts.
    func start(source: [Int32]) throws
    /// Runs decoder input `ids[r]` at the next position of row r for the first `ids.count` rows;
    /// throws one line for an id outside the vocabulary or a full cache.
    func append(rows ids: UnsafeBufferPointer<Int32>) throws
    /// The (V) logits of `row` after the last tokens appended.
    func logits(row: Int) -> UnsafeBufferPointer<Float>
    /// Makes decoder row j continue what row `sources[j]` decoded so far.
    func reorder(_ sources: UnsafeBufferPointer<Int32>)
}
