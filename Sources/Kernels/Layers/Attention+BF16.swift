import Support

// Attention's four products with bf16 operands and fp32 accumulation (`precision:` under mixed
// precision), the softmax and everything between the products staying fp32, as PyTorch autocast
// keeps softmax fp32. Shapes as in Attention.swift.
//
// Each product runs for all B·NH (batch, head) pairs at once, one call per block of query rows
// (`BF16Matmul.multiplyBatched`: one oneDNN primitive per block shape, created on first use), so a
// causal block still multiplies only the key columns it can see. Operands are rounded into the
// matmul's attention scratch slots (4–8), grown once and reused:
//   4, 5, 6: Q (B,Tq,D), K, V (B,Tk,D), packed (row stride D)
//   7: the weights P (or their dropped form) (B,NH,Tq,Tk), in backward then dS
//   8: dout (B,Tq,D)
extension Attention {
    /// `forward` with bf16 products: S = scale·Q·Kᵀ and out = P·V.
    static func forwardBF16(out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
                            q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
                            _ g: AttentionGeometry, B: Int, Tq: Int, Tk: Int, NH: Int, hs: Int, causal: Bool,
                            keyPadding: UnsafePointer<UInt8>?, bias: UnsafePointer<Float>?, dropout: Float, seed: UInt64,
                            dropped: UnsafeMutablePointer<Float>?, _ mm: BF16Matmul) {
        let D = g.D, size = mm.elementSize, native = mm.path == .native
        let (qr, kr, vr) = roundHeads(q, ldq, k, ldk, v, ldv, B: B, Tq: Tq, Tk: Tk, D: D, mm)
        let p = mm.buffer(7, bytes: B * NH * Tq * Tk * size)
        let l = Layouts(NH: NH, Tq: Tq, Tk: Tk, hs: hs, D: D)
        g.forEachBlock { i0, i1, cols in
            mm.multiplyBatched(B: B, H: NH, M: i1 - i0, N: cols, K: hs, alpha: g.scale, A: qr + i0 * D * size, l.queries,
                               B: kr, l.keysT, beta: 0, C: att + i0 * Tk, l.scores)
        }
        let rows = AttentionWeightRows(g, NH: NH, keyPadding: keyPadding, bias: bias, dropout: dropout, seed: seed, dropped: dropped)
        Parallel.chunks(B * NH * Tq, minChunk: 16) { range in
            for r in range {
                let w = rows.finish(att + r * Tk, pair: r / Tq, i: r % Tq)
                BF16Rounding.roundRun(w, into: p + r * Tk * size, from: 0, to: g.columns(r % Tq), native: native)
            }
        }
        g.forEachBlock { i0, i1, cols in
            mm.multiplyBatched(B: B, H: NH, M: i1 - i0, N: hs, K: cols, alpha: 1, A: p + i0 * Tk * size, l.scores,
                               B: vr, l.keys, beta: 0, C: out + i0 * D, l.queries)
        }
    }

    /// `backward` with bf16 products: dP = dout·Vᵀ, dV += Wᵀ·dout, dQ += scale·dS·K, dK += scale·dSᵀ·Q.
    /// Leaves dS (fp32) in `scratch`, as the fp32 path does.
    static func backwardBF16(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                             scratch: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                             q: UnsafePointer<Float>, ldq: Int, k: UnsafePointer<Float>, ldk: Int, v: UnsafePointer<Float>, ldv: Int,
                             att: UnsafePointer<Float>, _ g: AttentionGeometry, B: Int, Tq: Int, Tk: Int, NH: Int, hs: Int,
                             causal: Bool, dropout: Float, dropped: UnsafePointer<Float>?, _ mm: BF16Matmul) {
        let D = g.D, size = mm.elementSize, native = mm.path == .native
        let drop = dropout > 0 ? dropped : nil, weights = drop ?? att
        let (qr, kr, vr) = roundHeads(q, ldq, k, ldk, v, ldv, B: B, Tq: Tq, Tk: Tk, D: D, mm)
        let gr = mm.round(dout, rows: B * Tq, cols: D, slot: 8)
        let p = mm.buffer(7, bytes: B * NH * Tq * Tk * size)
        BF16Rounding.round(weights, into: p, count: B * NH * Tq * Tk, native: native)
        let l = Layouts(NH: NH, Tq: Tq, Tk: Tk, hs: hs, D: D)
        g.forEachBlock { i0, i1, cols in
            mm.multiplyBatched(B: B, H: NH, M: i1 - i0, N: cols, K: hs, alpha: 1, A: gr + i0 * D * size, l.queries,
                               B: vr, l.keysT, beta: 0, C: scratch + i0 * Tk, l.scores)
            mm.multiplyBatched(B: B, H: NH, M: cols, N: hs, K: i1 - i0, alpha: 1, A: p + i0 * Tk * size, l.scoresT,
                               B: gr + i0 * D * size, l.queries, beta: 1, C: dv, l.gradient(ldv, Tk))
        }
        // W is read by the dV products only: its rounded copy becomes dS's.
        Parallel.chunks(B * NH * Tq, minChunk: 16) { range in
            for r in range {
                let i = r % Tq, cols = g.columns(i)
                backwardRow(scratch + r * Tk, att + r * Tk, weights + r * Tk, i: i, cols: cols, g, dropped: drop != nil)
                BF16Rounding.roundRun(scratch + r * Tk, into: p + r * Tk * size, from: 0, to: cols, native: native)
            }
        }
        g.forEachBlock { i0, i1, cols in
            mm.multiplyBatched(B: B, H: NH, M: i1 - i0, N: hs, K: cols, alpha: g.scale, A: p + i0 * Tk * size, l.scores,
                               B: kr, l.keys, beta: 1, C: dq + i0 * ldq, l.gradient(ldq, Tq))
            mm.multiplyBatched(B: B, H: NH, M: cols, N: hs, K: i1 - i0, alpha: g.scale, A: p + i0 * Tk * size, l.scoresT,
                               B: qr + i0 * D * size, l.queries, beta: 1, C: dk, l.gradient(ldk, Tk))
        }
    }

    /// Q, K and V rounded into scratch slots 4, 5, 6, packed (B,T,D).
    private static func roundHeads(_ q: UnsafePointer<Float>, _ ldq: Int, _ k: UnsafePointer<Float>, _ ldk: Int,
                                   _ v: UnsafePointer<Float>, _ ldv: Int, B: Int, Tq: Int, Tk: Int, D: Int, _ mm: BF16Matmul)
        -> (UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer) {
        (mm.round(q, rows: B * Tq, cols: D, ld: ldq, slot: 4), mm.round(k, rows: B * Tk, cols: D, ld: ldk, slot: 5),
         mm.round(v, rows: B * Tk, cols: D, ld: ldv, slot: 6))
    }

    /// The per-(batch, head) views the products use.
    private struct Layouts {
        /// Rows of a packed (B,Tq,D) matrix, head h in columns h·hs..<(h+1)·hs: Q, dout, out.
        let queries: BF16Matmul.Layout
        /// The same for packed keys or values (B,Tk,D), and their transpose (hs, Tk) per head.
        let keys, keysT: BF16Matmul.Layout
        /// (B,NH,Tq,Tk) scores / weights, and their transpose.
        let scores, scoresT: BF16Matmul.Layout
        let NH, hs: Int

        init(NH: Int, Tq: Int, Tk: Int, hs: Int, D: Int) {
            queries = .init(batch: Tq * D, head: hs, row: D, col: 1)
            keys = .init(batch: Tk * D, head: hs, row: D, col: 1)
            keysT = .init(batch: Tk * D, head: hs, row: 1, col: D)
            scores = .init(batch: NH * Tq * Tk, head: Tq * Tk, row: Tk, col: 1)
            scoresT = .init(batch: NH * Tq * Tk, head: Tq * Tk, row: 1, col: Tk)
            self.NH = NH
            self.hs = hs
        }

        /// A gradient (B,T,ld) of T positions, head h in columns h·hs..<(h+1)·hs.
        func gradient(_ ld: Int, _ T: Int) -> BF16Matmul.Layout { .init(batch: T * ld, head: hs, row: ld, col: 1) }
    }
}
