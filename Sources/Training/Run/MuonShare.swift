import Distributed
import Kernels
import Model

/// Muon's matrices shared out between the ranks of a synchronised step: each rank orthogonalises its
/// share (`owned`, the same assignment on every rank) and the new weights are gathered everywhere.
///
/// Every rank already holds the same averaged gradients, so each would compute the same update; the
/// Newton–Schulz products cost O(k²·n) per matrix whatever the batch, a tenth of the tiny default's
/// step, so sharing them divides that part by the ranks. Every rank still moves every matrix's
/// momentum (an element-wise pass), so the optimizer state stays identical on all ranks and
/// checkpoints need nothing new. Buffers are allocated once; an exchange allocates nothing.
public final class MuonShare {
    /// Per entry of the optimizer's `matrices`: whether this rank steps it.
    public let owned: [Bool]
    /// Each rank's matrices (flat ranges), in storage order.
    private let ranges: [[Range<Int>]]
    /// Elements each rank contributes, and all of them.
    private let counts: [Int]
    private let total: Int
    private let send: FlatBuffer
    private let receive: FlatBuffer
    private let rank: Int

    /// Assigns `matrices` to `size` ranks: largest Newton–Schulz cost first, each to the least loaded
    /// rank (ties to the lower rank).
    init(matrices: [(range: Range<Int>, rows: Int, cols: Int)], rank: Int, size: Int) throws {
        func cost(_ m: (range: Range<Int>, rows: Int, cols: Int)) -> Int { m.rows * m.cols * min(m.rows, m.cols) }
        var owner = [Int](repeating: 0, count: matrices.count), load = [Int](repeating: 0, count: size)
        for index in matrices.indices.sorted(by: { (cost(matrices[$0]), -$0) > (cost(matrices[$1]), -$1) }) {
            let least = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            owner[index] = least
            load[least] += cost(matrices[index])
        }
        var ranges = [[Range<Int>]](repeating: [], count: size)
        for (index, m) in matrices.enumerated() { ranges[owner[index]].append(m.range) }
        self.ranges = ranges
        counts = ranges.map { $0.reduce(0) { $0 + $1.count } }
        total = counts.reduce(0, +)
        owned = owner.map { $0 == rank }
        self.rank = rank
        send = try FlatBuffer(count: max(1, counts[rank]))
        receive = try FlatBuffer(count: max(1, total))
    }

    /// Gathers every rank's share of the new weights into `params` (and the bf16 copy of the weights
    /// that arrived, when there is one).
    func exchange(_ params: FlatBuffer, comm: any Communicator, bf16: BF16Matmul?) throws {
        var at = 0
        for r in ranges[rank] {
            (send.pointer + at).update(from: params.pointer + r.lowerBound, count: r.count)
            at += r.count
        }
        try comm.allgatherv(UnsafeBufferPointer(send[0..<counts[rank]]), into: receive[0..<total], counts: counts)
        at = 0
        for (q, share) in ranges.enumerated() {
            for r in share {
                if q != rank {
                    (params.pointer + r.lowerBound).update(from: receive.pointer + at, count: r.count)
                    bf16?.refreshWeights(r)
                }
                at += r.count
            }
        }
    }
}
