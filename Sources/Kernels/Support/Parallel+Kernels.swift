import Support

// The two ways the kernels split work into deterministic 16-lane pieces, named once.

extension Parallel {
    /// Runs `body(lo, hi)` over `0..<count` split into runs of whole 16-element blocks (the last run may
    /// end mid-block at `count`), at least 2048 blocks to a thread: the split of every element-wise
    /// kernel (GELU, ReLU, gated GELU).
    @inline(__always)
    static func elementBlocks(_ count: Int, _ body: (_ lo: Int, _ hi: Int) -> Void) {
        precondition(count >= 0, "negative count")
        chunks((count + 15) / 16, minChunk: 2048) { range in
            body(range.lowerBound * 16, Swift.min(count, range.upperBound * 16))
        }
    }

    /// Runs `body(lo, hi)` over the channels `0..<width` split into runs of whole 16-channel blocks, at
    /// least 4 blocks to a thread: the split of the per-channel reductions over rows (the bias and norm
    /// weight gradients of Linear, LayerNorm and RMSNorm), so no two threads write the same channel and
    /// each channel sums its rows in order whatever the thread count.
    @inline(__always)
    static func channelBlocks(_ width: Int, _ body: (_ lo: Int, _ hi: Int) -> Void) {
        chunks((width + 15) / 16, minChunk: 4) { range in
            body(range.lowerBound * 16, Swift.min(width, range.upperBound * 16))
        }
    }

    /// a[c] += Σ_n of row n's terms and b[c] likewise (b optional): `term(n, c, lanes, &sa, &sb)` adds
    /// row n's 16 terms at channels c..<c+16 into the running sums sa, sb (only the first `lanes` count:
    /// read no further), for every channel c < `width` and row n < `rows`, as the kernels added them into
    /// the buffer before (an `addingProduct` stays one fused multiply-add, so a batch summed onto a zero
    /// buffer gives the same bits as then). Each channel sums its rows from zero, in row order, and adds the
    /// total once: a gradient buffer that already holds earlier micro-batches receives fl(old + this
    /// batch's sum), exactly what summing the batch on another rank and adding the two gives (so N
    /// ranks equal 1 rank with N micro-batches bit for bit). Parallel over `channelBlocks`.
    @inline(__always)
    static func addRowSums(into a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>?, width: Int, rows: Int,
                           _ term: (_ n: Int, _ c: Int, _ lanes: Int, _ sa: inout SIMD16<Float>, _ sb: inout SIMD16<Float>) -> Void) {
        channelBlocks(width) { lo, hi in addRowSums(into: a, b, channels: lo..<hi, rows: rows, term) }
    }

    /// `addRowSums` over the channels `channels` only, on the calling thread.
    @inline(__always)
    static func addRowSums(into a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>?, channels: Range<Int>, rows: Int,
                           _ term: (_ n: Int, _ c: Int, _ lanes: Int, _ sa: inout SIMD16<Float>, _ sb: inout SIMD16<Float>) -> Void) {
        var c = channels.lowerBound
        while c < channels.upperBound {
            let lanes = Swift.min(16, channels.upperBound - c)
            var sa = SIMD16<Float>(), sb = SIMD16<Float>()
            for n in 0..<rows { term(n, c, lanes, &sa, &sb) }
            addLanes(a, c, lanes, sa)
            if let b { addLanes(b, c, lanes, sb) }
            c += 16
        }
    }

    /// dst[c..<c+lanes] += v's first `lanes` lanes.
    @inline(__always)
    static func addLanes(_ dst: UnsafeMutablePointer<Float>, _ c: Int, _ lanes: Int, _ v: SIMD16<Float>) {
        if lanes == 16 { dst.store16(c, dst.load16(c) + v); return }
        for k in 0..<lanes { dst[c + k] += v[k] }
    }
}

extension UnsafePointer where Pointee == Float {
    /// 16 floats at `self + i` when `lanes` is 16, else the first `lanes` of them and zeros.
    @inline(__always)
    func load16(_ i: Int, lanes: Int) -> SIMD16<Float> { lanes == 16 ? load16(i) : loadPartial16(i, lanes) }
}
