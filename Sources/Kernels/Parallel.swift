import Dispatch

/// The rank's compute threads: how many there are, and a parallel-for over index ranges.
///
/// Every kernel that is not a BLAS call splits its work with `Parallel.chunks`, so the thread count
/// set here (and mirrored into OpenBLAS by `setThreads`) is the only knob. The default is one thread;
/// the training loop sets cores ÷ ranks-on-this-host.
public enum Parallel {
    /// Threads this rank uses for its own loops.
    public nonisolated(unsafe) private(set) static var threads = 1

    /// Sets the thread count for the project's loops and for OpenBLAS alike, so the two always agree.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "thread count must be at least 1")
        threads = n
        BLASRuntime.setThreads(n)
    }

    /// Calls `body(range)` on disjoint ranges that cover `0..<count`, in parallel over `threads`
    /// threads. Ranges are at least `minChunk` long (fewer chunks for small work); `body` must only
    /// write what its range owns.
    @inlinable
    public static func chunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let n = Swift.max(1, Swift.min(threads, count / Swift.max(minChunk, 1)))
        if n == 1 { body(0..<count); return }
        let per = (count + n - 1) / n
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let lo = i * per
            let hi = Swift.min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}
