/// The token-embedding rows of one deferring backward of an encoder-decoder, kept side by side: one
/// (C)-float row and its token per input lookup, the decoder's first, then the encoder's, so that they
/// travel as one `TokenEmbeddingRows`.
///
/// Shapes: capacity = the largest B·(S + T), width C. Allocated once, by the first deferring backward
/// (a model that never defers never holds it); nothing is allocated per step.
final class LookupRows {
    /// (capacity) tokens and (capacity, width) rows.
    let tokens: UnsafeMutablePointer<Int32>, rows: UnsafeMutablePointer<Float>
    let capacity: Int, width: Int

    /// Room for `capacity` rows of `width` floats.
    init(capacity: Int, width: Int) {
        self.capacity = capacity
        self.width = width
        tokens = .allocate(filling: 0, count: max(1, capacity))
        rows = .allocate(filling: 0, count: max(1, capacity * width))
    }

    deinit {
        tokens.deallocate()
        rows.deallocate()
    }

    /// Copies `count` rows (count, width) and their tokens (count) into rows `first..<first + count`.
    func keep(rows source: UnsafePointer<Float>, tokens ids: UnsafePointer<Int32>, count: Int, at first: Int) {
        precondition(first >= 0 && first + count <= capacity, "rows \(first)..<\(first + count) outside the \(capacity) held")
        (rows + first * width).update(from: source, count: count * width)
        (tokens + first).update(from: ids, count: count)
    }
}
