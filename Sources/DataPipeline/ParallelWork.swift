import Dispatch

/// Thread helpers for the data pipeline (the Data module does not depend on Kernels).
enum ParallelWork {
    /// Runs `body(i)` for `i` in `0..<count` on up to `count` threads and waits for all.
    static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// Splits items with these weights into `parts` contiguous runs of about equal weight;
    /// returns `parts + 1` bounds (run `k` is `bounds[k]..<bounds[k + 1]`).
    static func balancedBounds(weights: [Int], parts: Int) -> [Int] {
        let total = weights.reduce(0, +)
        var bounds = [0]
        var accumulated = 0
        var index = 0
        for part in 1..<max(parts, 1) {
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
