import Foundation
import Kernels

/// Double-precision reference for `CrossEntropy`: log-sum-exp per row, plain loops.
public enum CrossEntropyReference {
    /// Returns per-row losses (0 for ignored rows) and the softmax probabilities (N,V).
    public static func forward(logits: [Double], targets: [Int32], N: Int, V: Int, ignoreIndex: Int32 = -100,
                               labelSmoothing: Double = 0) -> (losses: [Double], probs: [Double]) {
        var losses = [Double](repeating: 0, count: N), probs = [Double](repeating: 0, count: N * V)
        for n in 0..<N {
            let row = Array(logits[(n * V)..<((n + 1) * V)])
            let mx = row.max()!
            let sum = row.reduce(0) { $0 + Foundation.exp($1 - mx) }
            let lse = mx + Foundation.log(sum)
            for j in 0..<V { probs[n * V + j] = Foundation.exp(row[j] - lse) }
            let t = targets[n]
            if t == ignoreIndex { continue }
            var meanNegLogP = 0.0
            for j in 0..<V { meanNegLogP += lse - row[j] }
            meanNegLogP /= Double(V)
            losses[n] = (1 - labelSmoothing) * (lse - row[Int(t)]) + labelSmoothing * meanNegLogP
        }
        return (losses, probs)
    }

    /// Returns dlogits (N,V) = scale·d(loss_n)/d(logits) (0 rows for ignored targets).
    public static func backward(logits: [Double], targets: [Int32], scale: Double, N: Int, V: Int,
                                ignoreIndex: Int32 = -100, labelSmoothing: Double = 0) -> [Double] {
        let probs = forward(logits: logits, targets: targets, N: N, V: V, ignoreIndex: ignoreIndex,
                            labelSmoothing: labelSmoothing).probs
        var d = [Double](repeating: 0, count: N * V)
        for n in 0..<N where targets[n] != ignoreIndex {
            for j in 0..<V {
                let onehot = j == Int(targets[n]) ? 1.0 : 0.0
                d[n * V + j] = scale * (probs[n * V + j] - (1 - labelSmoothing) * onehot - labelSmoothing / Double(V))
            }
        }
        return d
    }
}
