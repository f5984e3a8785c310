/// The checks and derived sizes that `Attention.forward` and `Attention.backward` share: one place that
/// says what a valid attention call is and how its rows are blocked.
struct AttentionGeometry {
    /// D = NH·hs, the width of `out` and `dout`.
    let D: Int
    /// The score scale (1/√hs unless given).
    let scale: Float
    /// Query rows per block: `Attention.rowBlock` when causal, all Tq otherwise.
    let block: Int
    /// Tk − Tq: query i is key position i + shift.
    let shift: Int
    /// 1/(1 − p), the scale of a kept attention weight.
    let keepScale: Float

    /// Checks the shapes, strides and dropout buffer of a call (`dropped` says whether the call has
    /// the buffer, `droppedFrom` where it should come from) and derives the rest.
    init(B: Int, Tq: Int, Tk: Int, NH: Int, hs: Int, ldq: Int, ldk: Int, ldv: Int, scale: Float?, causal: Bool,
         dropout: Float, dropped: Bool, droppedFrom: String) {
        D = NH * hs
        precondition(B >= 0 && Tq > 0 && Tk > 0 && NH > 0 && hs > 0 && ldq >= D && ldk >= D && ldv >= D, "bad attention shape")
        precondition(!causal || Tk >= Tq, "causal attention needs Tk ≥ Tq")
        precondition(dropout == 0 || dropped, "attention dropout needs the `dropped` buffer\(droppedFrom)")
        self.scale = scale ?? 1 / Float(hs).squareRoot()
        block = causal ? max(1, Attention.rowBlock) : Tq
        shift = Tk - Tq
        keepScale = dropout < 1 ? 1 / (1 - dropout) : 0
    }
}
