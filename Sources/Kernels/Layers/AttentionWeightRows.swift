/// Turns rows of attention scores into attention weights, in place: the additive per-head bias, the
/// masked softmax (`Attention.softmaxRow`) and, with dropout, the dropped copy P∘M/(1−p) (M from
/// Dropout's counter-based stream at index pair·Tq·Tk + i·Tk + j). Shared by the fp32 and bf16 paths.
struct AttentionWeightRows {
    let g: AttentionGeometry
    let NH: Int
    let keyPadding: UnsafePointer<UInt8>? /* (B,Tk) */
    let bias: UnsafePointer<Float>? /* (NH,Tq,Tk) */
    /// The dropped weights (B,NH,Tq,Tk), nil without dropout.
    let dropped: UnsafeMutablePointer<Float>?
    let threshold: Int32
    let keys: (UInt32, UInt32)

    init(_ g: AttentionGeometry, NH: Int, keyPadding: UnsafePointer<UInt8>?, bias: UnsafePointer<Float>?, dropout: Float, seed: UInt64,
         dropped: UnsafeMutablePointer<Float>?) {
        self.g = g
        self.NH = NH
        self.keyPadding = keyPadding
        self.bias = bias
        self.dropped = dropout > 0 ? dropped : nil
        threshold = Dropout.threshold(dropout)
        keys = Dropout.keys(seed)
    }

    /// Row i of pair (b·NH + h)'s scores at `row` (its first `g.columns(i)` computed) into weights;
    /// returns the row the P·V product reads (the dropped copy with dropout, else `row`).
    @inline(__always)
    func finish(_ row: UnsafeMutablePointer<Float>, pair: Int, i: Int) -> UnsafeMutablePointer<Float> {
        let Tq = g.Tq, Tk = g.Tk, cols = g.columns(i), b = pair / NH, h = pair % NH
        if let bias { VectorMath.accumulate(row, bias + (h * Tq + i) * Tk, count: cols) }
        Attention.softmaxRow(row, valid: g.valid(i), T: Tk, pad: keyPadding.map { $0 + b * Tk })
        guard let dropped else { return row }
        let first = (pair * Tq + i) * Tk, d = dropped + first
        for j in 0..<Tk {
            d[j] = j < cols && Dropout.keeps(index: UInt64(first + j), threshold: threshold, keys) ? row[j] * g.keepScale : 0
        }
        return d
    }

    /// The weights P·V reads for pair `pair` whose probabilities are at `att`.
    @inline(__always)
    func weights(_ att: UnsafeMutablePointer<Float>, pair: Int) -> UnsafeMutablePointer<Float> {
        dropped.map { $0 + pair * g.Tq * g.Tk } ?? att
    }
}
