/// Checks of token ids against a model's vocabulary, shared by the encoder-decoders' forwards.
enum TokenIDs {
    /// Throws a one-line error for the first id in `ids` (count) outside 0..<`vocabularySize`; an id equal
    /// to `ignored` (targets left out of the loss) is allowed.
    static func check(_ ids: UnsafePointer<Int32>, _ count: Int, _ what: String, vocabularySize V: Int, ignored: Int32? = nil) throws {
        for i in 0..<count where ids[i] < 0 || Int(ids[i]) >= V {
            if let ignored, ids[i] == ignored { continue }
            throw ModelError("\(what) \(ids[i]) at position \(i) is outside model.vocab_size \(V); the data's tokenizer does not fit the model — set model.vocab_size to at least the tokenizer's vocabulary")
        }
    }
}
