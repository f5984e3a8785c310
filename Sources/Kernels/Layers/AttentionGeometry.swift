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
    /// Query and key positions, and whether query i sees only keys up to i + shift.
    let Tq: Int, Tk: Int, causal: Bool

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
        self.Tq = Tq
        self.Tk = Tk
        self.causal = causal
    }

    /// The keys query row i attends: i + 1 + shift when causal, else all Tk.
    @inline(__always) func valid(_ i: Int) -> Int { causal ? i + 1 + shift : Tk }

    /// The key columns the products compute for row i: those of the last row of its block.
    @inline(__always) func columns(_ i: Int) -> Int { causal ? min(Tq, (i / block + 1) * block) + shift : Tk }

    /// Calls `body(i0, i1, cols)` for each block of query rows [i0, i1) and the key columns it computes.
    @inline(__always) func forEachBlock(_ body: (Int, Int, Int) -> Void) {
        var i0 = 0
        while i0 < Tq {
            let i1 = min(Tq, i0 + block)
            body(i0, i1, causal ? i1 + shift : Tk)
            i0 = i1
        }
    }
}
