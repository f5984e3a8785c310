import CMPI
import Foundation

/// `ProgressiveSum` on one host, over `SingleNodeAllreduce`'s shared flags and cross-memory attach.
///
/// The buffer is cut into pieces of `SingleNodeAllreduce.pieceElements` (256 KiB). Each rank lists
/// the pieces in the order they become final (all of a piece reported); backward runs the same code
/// on every rank, so the lists are the same, and a hash of each list is compared at the end to make
/// sure (a mismatch throws). Per step `s`, in the shared window:
/// - each rank's `progress` = (s << 32) | p: the first p pieces of its list are final;
/// - rank 0's `claim` = (s << 32) | k: list entries 0 ..< k are taken; a rank takes the next one
///   with a compare-and-swap, waits until every rank's progress covers it, sums it in rank order into
///   its own buffer and writes the sum into every peer's;
/// - rank 0's `completed` = (s << 32) | c: pieces done; every rank returns once c is all of them
///   (nobody reads or writes its buffer after that).
/// A rank still waiting for the slowest rank's backward therefore sums what that rank has finished.
final class SingleNodeProgressiveSum: ProgressiveSum {
    let count: Int
    private let transport: SingleNodeAllreduce
    private let buffer: UnsafeMutablePointer<Float>
    private let pieces: Int
    /// Per piece (numbered as offsets): elements not yet reported this step.
    private var pending: [Int]
    /// The pieces in the order they became final this step; the first `final` entries are set.
    private var order: [Int]
    private var final = 0
    /// FNV-1a over `order[0 ..< final]`.
    private var hash: UInt64 = 0
    private static let hashStart: UInt64 = 0xCBF2_9CE4_8422_2325
    /// This step's `s` (from the transport, shared by every progressive sum on it).
    private var step: UInt64 = 0
    /// Peers' buffer addresses this step.
    private var bases: [UInt64]
    private let incoming: UnsafeMutablePointer<Float>
    private let sum: UnsafeMutablePointer<Float>

    init(transport: SingleNodeAllreduce, buffer: UnsafeMutablePointer<Float>, count: Int) {
        self.transport = transport
        self.buffer = buffer
        self.count = count
        let p = SingleNodeAllreduce.pieceElements
        pieces = (count + p - 1) / p
        pending = (0..<pieces).map { min(p, count - $0 * p) }
        order = [Int](repeating: 0, count: pieces)
        bases = [UInt64](repeating: 0, count: transport.size)
        incoming = .allocate(capacity: p)
        sum = .allocate(capacity: p)
    }

    deinit {
        incoming.deallocate()
        sum.deallocate()
    }

    private var mine: UnsafeMutablePointer<UInt64> { transport.slots[transport.rank] }
    private var shared: UnsafeMutablePointer<UInt64> { transport.slots[0] }

    func begin() {
        let p = SingleNodeAllreduce.pieceElements
        for j in 0..<pieces { pending[j] = min(p, count - j * p) }
        final = 0
        hash = Self.hashStart
        step = transport.nextStreamStep()
        cmpi_store_release(mine + SingleNodeAllreduce.Field.streamAddress.rawValue, UInt64(UInt(bitPattern: buffer)))
        cmpi_store_release(mine + SingleNodeAllreduce.Field.streamCount.rawValue, UInt64(count))
        transport.publish(.progress, step << 32)
    }

    func markReady(_ range: Range<Int>) {
        precondition(step > 0, "markReady before begin()")
        guard !range.isEmpty else { return }
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ready range \(range) outside 0..<\(count)")
        let p = SingleNodeAllreduce.pieceElements
        let before = final
        // Highest piece first, as backward finishes a range's top first.
        for j in stride(from: (range.upperBound - 1) / p, through: range.lowerBound / p, by: -1) {
            let overlap = min(range.upperBound, (j + 1) * p) - max(range.lowerBound, j * p)
            precondition(overlap <= pending[j], "gradient range \(range) reported ready twice in one step")
            pending[j] -= overlap
            if pending[j] == 0 { append(j) }
        }
        if final != before { publishProgress() }
    }

    /// Lists piece `j` as final.
    private func append(_ j: Int) {
        order[final] = j
        final += 1
        hash = (hash ^ UInt64(j)) &* 0x100_0000_01B3
    }

    /// Publishes the count of final pieces.
    private func publishProgress() { transport.publish(.progress, step << 32 | UInt64(final)) }

    /// The list's hash tagged with the step: (step << 32) | low 32 bits of the hash.
    private var taggedHash: UInt64 { step << 32 | (hash & 0xffff_ffff) }

    func finish() throws -> ProgressiveSumWork {
        precondition(step > 0, "finish before begin()")
        let before = final
        for j in stride(from: pieces - 1, through: 0, by: -1) where pending[j] > 0 {
            pending[j] = 0
            append(j)
        }
        cmpi_store_release(mine + SingleNodeAllreduce.Field.orderHash.rawValue, taggedHash)
        if final != before || pieces == 0 { publishProgress() }
        defer { step = 0 }
        guard pieces > 0 else { return ProgressiveSumWork(pieces: 0, totalPieces: 0, busySeconds: 0) }
        let rank = transport.rank, size = transport.size
        let p = SingleNodeAllreduce.pieceElements
        transport.width = 4
        var done = 0, busy: UInt64 = 0, addressesRead = false
        while let k = claim() {
            // Entry k of the list: wait until every rank has finished it.
            for q in 0..<size where q != rank {
                transport.wait(for: q, .progress, atLeast: step << 32 | UInt64(k + 1), polling: 50)
            }
            if !addressesRead {
                for q in 0..<size where q != rank {
                    bases[q] = cmpi_load_acquire(transport.slots[q] + SingleNodeAllreduce.Field.streamAddress.rawValue)
                    let theirs = Int(cmpi_load_acquire(transport.slots[q] + SingleNodeAllreduce.Field.streamCount.rawValue))
                    guard theirs == count else {
                        throw CommunicatorError.invalidArgument(
                            operation: "progressive sum",
                            message: "rank \(rank) sums \(count) elements but rank \(q) sums \(theirs); every rank must pass the same count")
                    }
                }
                addressesRead = true
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let offset = order[k] * p, n = min(p, count - offset)
            let target = UnsafeMutableRawPointer(buffer + offset)
            try transport.reducePiece(target, offset: offset, count: n, bases: bases, incoming: incoming, sum: sum)
            for hop in 1..<size {
                let q = (rank + hop) % size
                try transport.write(to: q, at: bases[q], offset: offset, count: n, from: target)
            }
            busy += DispatchTime.now().uptimeNanoseconds - start
            done += 1
            completeOne()
        }
        transport.wait(for: 0, .completed, atLeast: step << 32 | UInt64(pieces), polling: 1000)
        // The lists must be the same, or a piece may have been summed before a rank had finished it.
        // A peer's hash of this step is there once it entered finish(); one that is not yet (or is
        // already a later step's) is skipped here, and that peer compares with this rank's instead.
        for q in 0..<size where q != rank {
            let theirs = cmpi_load_acquire(transport.slots[q] + SingleNodeAllreduce.Field.orderHash.rawValue)
            guard theirs >> 32 != step || theirs == taggedHash else {
                throw CommunicatorError.invalidArgument(
                    operation: "progressive sum",
                    message: "rank \(rank) and rank \(q) finished the gradient's pieces in different orders; every rank must report ranges in the same order")
            }
        }
        return ProgressiveSumWork(pieces: done, totalPieces: pieces, busySeconds: Double(busy) / 1e9)
    }

    /// Takes the next piece of this step, or nil when all are taken (or another rank is already past
    /// this step, which it can only be once every piece of it is done).
    private func claim() -> Int? {
        let flag = shared + SingleNodeAllreduce.Field.claim.rawValue
        while true {
            let v = cmpi_load_acquire(flag)
            let (s, k) = (v >> 32, Int(v & 0xffff_ffff))
            if s > step { return nil }
            let taken = s < step ? 0 : k
            if taken >= pieces { return nil }
            if cmpi_compare_exchange(flag, v, step << 32 | UInt64(taken + 1)) != 0 { return taken }
        }
    }

    /// Counts one more piece done; the last one wakes the ranks waiting in `finish()`.
    private func completeOne() {
        let flag = shared + SingleNodeAllreduce.Field.completed.rawValue
        while true {
            let v = cmpi_load_acquire(flag)
            let c = v >> 32 < step ? 0 : Int(v & 0xffff_ffff)
            let next = step << 32 | UInt64(c + 1)
            if cmpi_compare_exchange(flag, v, next) != 0 {
                if c + 1 == pieces { _ = cmpi_futex_wake(flag) }
                return
            }
        }
    }
}
