/// What the encoder-decoders (`T5`, `TransformerModel`) share around their forward: id checks, the
/// decoder inputs made from targets, and the input of a stack's layer.
enum Seq2Seq {
    /// Throws a one-line error for the first id in `ids` (count) outside 0..<`vocabularySize`; an id equal
    /// to `ignored` (targets left out of the loss) is allowed.
    static func check(_ ids: UnsafePointer<Int32>, _ count: Int, _ what: String, vocabularySize V: Int, ignored: Int32? = nil) throws {
        for i in 0..<count where ids[i] < 0 || Int(ids[i]) >= V {
            if let ignored, ids[i] == ignored { continue }
            throw ModelError("\(what) \(ids[i]) at position \(i) is outside model.vocab_size \(V); the data's tokenizer does not fit the model — set model.vocab_size to at least the tokenizer's vocabulary")
        }
    }

    /// Decoder inputs (B, T) from targets (B, T): `start` first, then the targets shifted right, with
    /// `ignored` targets replaced by `pad` (Hugging Face's `_shift_right`).
    static func shiftRight(_ targets: UnsafePointer<Int32> /* (B,T) */, into out: UnsafeMutablePointer<Int32> /* (B,T) */, B: Int, T: Int,
                           start: Int32, ignored: Int32, pad: Int32) {
        for b in 0..<B {
            out[b * T] = start
            for t in 1..<max(1, T) {
                let y = targets[b * T + t - 1]
                out[b * T + t] = y == ignored ? pad : y
            }
        }
    }

    /// The input of layer `l` of a stack whose first layer reads `embedded` (l = L: the last output).
    static func layerInput(_ stack: TransformerBlock, embedded: UnsafeMutablePointer<Float>, _ l: Int) -> UnsafePointer<Float> {
        UnsafePointer(l == 0 ? embedded : stack.output(layer: l - 1))
    }
}
