import Dispatch

/// The rank's compute threads: how many there are, and the one parallel-for of the project.
///
/// Every loop that is not a BLAS call splits its work with `Parallel.chunks` (or `Parallel.run` for a
/// fixed number of workers), so the thread count set here (and mirrored into OpenBLAS by
/// `Parallel.setThreads` in Kernels) is the only knob. The default is one thread; the training loop
/// sets cores ÷ ranks-on-this-host.
public enum Parallel {
    /// Threads this rank uses for its own loops (set with `Parallel.setThreads`, which Kernels adds so
    /// that OpenBLAS always agrees).
    public nonisolated(unsafe) internal(set) static var threads = 1

    /// Sets the thread count of the project's own loops only; `setThreads` (Kernels) also sets BLAS's.
    public static func setLoopThreads(_ n: Int) {
        precondition(n >= 1, "thread count must be at least 1")
        threads = n
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

    /// Runs `body(i)` for `i` in `0..<count` on up to `count` threads and waits for all.
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// Splits items with these weights into `parts` contiguous runs of about equal weight;
    /// returns `parts + 1` bounds (run `k` is `bounds[k]..<bounds[k + 1]`).
    public static func balancedBounds(weights: [Int], parts: Int) -> [Int] {
        let total = weights.reduce(0, +)
        var bounds = [0]
        var accumulated = 0
        var index = 0
        for part in 1..<Swift.max(parts, 1) {
            let target = total * part / parts
            while index < weights.count, accumulated + weights[index] <= target {
                accumulated += weights[index]
                index += 1
            }
            bounds.append(index)
        }
        bounds.append(weights.count)
        return bounds
    }
}
