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
}
