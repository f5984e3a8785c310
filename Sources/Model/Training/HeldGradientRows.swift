/// Makes one backward add a table's gradient rows once: the rows of this micro-batch's tokens are set
/// aside (and zeroed) before the first contribution, so the head's product and every lookup position
/// accumulate from zero, and `release` adds the set-aside rows back, fl(old + this batch's rows).
///
/// Without it a row touched by several contributions gets them one by one on top of the earlier
/// micro-batches' sum, a different order from a rank that computes the batch alone and then adds
/// across ranks; with it (and the kernels' own once-per-batch sums, `Parallel.addRowSums`), one rank
/// with N micro-batches adds the same numbers in the same order as N ranks, bit for bit.
///
/// Shapes: table (V, C) gradient, tokens (N) Int32 in [0, V). Buffers grow to the largest N seen and
/// are then reused (nothing allocated per step once every batch size has run).
public final class HeldGradientRows {
    private let vocab: Int, width: Int
    /// slot[v]: where row v is held, or -1.
    private let slot: UnsafeMutablePointer<Int32>
    private var rows: [Int32] = []
    private var saved: UnsafeMutablePointer<Float>
    private var capacity = 0

    /// For a (vocab, width) table.
    public init(vocab: Int, width: Int) {
        self.vocab = vocab
        self.width = width
        slot = .allocate(capacity: max(1, vocab))
        slot.initialize(repeating: -1, count: max(1, vocab))
        saved = .allocate(capacity: 1)
    }

    deinit {
        slot.deallocate()
        saved.deallocate()
    }

    /// Sets aside and zeroes the rows of `table` that `tokens` (count) name, each once.
    public func hold(_ table: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, count: Int) {
        precondition(rows.isEmpty, "rows already held")
        if count > capacity {
            saved.deallocate()
            saved = .allocate(capacity: count * width)
            capacity = count
            rows.reserveCapacity(count)
        }
        for i in 0..<count {
            let v = Int(tokens[i])
            precondition(v >= 0 && v < vocab, "token id out of range")
            if slot[v] >= 0 { continue }
            slot[v] = Int32(rows.count)
            let row = table + v * width
            (saved + rows.count * width).update(from: row, count: width)
            row.update(repeating: 0, count: width)
            rows.append(Int32(v))
        }
    }

    /// Adds the held rows back into `table`: row = held + row.
    public func release(_ table: UnsafeMutablePointer<Float>) {
        for (k, v) in rows.enumerated() {
            let row = table + Int(v) * width, old = saved + k * width
            for c in 0..<width { row[c] = old[c] + row[c] }
            slot[Int(v)] = -1
        }
        rows.removeAll(keepingCapacity: true)
    }
}
