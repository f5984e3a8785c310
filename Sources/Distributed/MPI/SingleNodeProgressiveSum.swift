import CMPI
import Foundation

/// `ProgressiveSum` on one host, over `SingleNodeAllreduce`'s shared flags and cross-memory attach.
///
/// The buffer is cut into pieces of `SingleNodeAllreduce.pieceElements` (256 KiB), numbered from the
/// top (piece 0 holds the highest offsets: the last layers, which backward finishes first). Per step
/// `s`, in the shared window:
/// - each rank's `progress` = (s << 32) | p: its top p pieces are final (a piece counts once all of
///   it and every piece above it is; a range finished out of order, such as a tied embedding, waits
///   for the pieces above it, so the order is the same on every rank by construction);
/// - rank 0's `claim` = (s << 32) | k: pieces 0 ..< k are taken; a rank takes the next one with a
///   compare-and-swap, waits until every rank's progress covers it, sums it in rank order into its
///   own buffer and writes the sum into every peer's;
/// - rank 0's `completed` = (s << 32) | c: pieces done; every rank returns once c is all of them
///   (nobody reads or writes its buffer after that).
/// A rank still waiting for the slowest rank's backward therefore sums what that rank has finished.
final class SingleNodeProgressiveSum: ProgressiveSum {
    let count: Int
    private let transport: SingleNodeAllreduce
    private let buffer: UnsafeMutablePointer<Float>
    private let pieces: Int
    /// Per piece (numbered from the bottom, as offsets): elements not yet reported this step.
    private var pending: [Int]
    /// Pieces final from the top on this rank.
    private var watermark = 0
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
        watermark = 0
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
        for j in (range.lowerBound / p)...((range.upperBound - 1) / p) {
            let overlap = min(range.upperBound, (j + 1) * p) - max(range.lowerBound, j * p)
            precondition(overlap <= pending[j], "gradient range \(range) reported ready twice in one step")
            pending[j] -= overlap
        }
        advance()
    }

    /// Moves the watermark down over every piece now final and publishes it if it moved.
    private func advance() {
        let before = watermark
        while watermark < pieces, pending[pieces - 1 - watermark] == 0 { watermark += 1 }
        if watermark != before { transport.publish(.progress, step << 32 | UInt64(watermark)) }
    }

    func finish() throws -> ProgressiveSumWork {
        precondition(step > 0, "finish before begin()")
        for j in 0..<pieces { pending[j] = 0 }
        advance()
        defer { step = 0 }
        guard pieces > 0 else { return ProgressiveSumWork(pieces: 0, totalPieces: 0, busySeconds: 0) }
        let rank = transport.rank, size = transport.size
        let p = SingleNodeAllreduce.pieceElements
        transport.width = 4
        var done = 0, busy: UInt64 = 0, addressesRead = false
        while let k = claim() {
            // Piece k from the top: wait until every rank has finished it.
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
            let j = pieces - 1 - k
            let offset = j * p, n = min(p, count - offset)
            let target = UnsafeMutableRawPointer(buffer + offset)
            try transport.reducePiece(target, offset: offset, count: n, bases: bases, incoming: incoming, sum: sum)
            for step in 1..<size {
                let q = (rank + step) % size
                try transport.write(to: q, at: bases[q], offset: offset, count: n, from: target)
            }
            busy += DispatchTime.now().uptimeNanoseconds - start
            done += 1
            completeOne()
        }
        transport.wait(for: 0, .completed, atLeast: step << 32 | UInt64(pieces), polling: 1000)
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
