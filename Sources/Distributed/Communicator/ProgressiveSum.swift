/// A float32 sum across ranks of one buffer whose parts become final one range at a time, reduced by
/// whichever rank has time: the transport behind the after-backward gradient schedule on one host.
///
/// Backward finishes the gradient from the top of the flat buffer down. Each rank reports what is
/// final (`markReady`, a store and a wake-up: no thread, no copy) and calls `finish()` when its
/// backward is done. A rank in `finish()` reduces any piece that every rank has reported, so the
/// rank that finished backward first sums (and writes to every rank) what the others have already
/// finished while they still compute; what is left when the last rank arrives is shared between all.
/// On a machine where the ranks never run at exactly the same speed this hides the communication
/// behind the wait for the slowest rank, which a synchronous step pays anyway, without a
/// communication thread taking cycles from backward.
///
/// Every piece is summed in rank order, `((g0 + g1) + g2) + …`, whichever rank sums it: the result is
/// bit-identical on every rank and to `Communicator.allreduce(_, op: .sum)` on one host.
///
/// Rules: every rank calls `begin()`, then `markReady` for ranges in the same order, then `finish()`,
/// as for a collective (the sequence of progressive sums and other collectives matches across ranks);
/// no element is reported twice per step; elements never reported count as final at `finish()`.
/// Allocates nothing per step.
public protocol ProgressiveSum: AnyObject {
    /// Floats in the buffer.
    var count: Int { get }
    /// Starts a step: nothing is final yet. The buffer must not be read by peers before this.
    func begin()
    /// Reports that `range` of the buffer is final on this rank.
    func markReady(_ range: Range<Int>)
    /// Reduces until every rank's buffer holds the sum; returns what this rank did.
    func finish() throws -> ProgressiveSumWork
}

/// What one rank did in `ProgressiveSum.finish()`.
public struct ProgressiveSumWork: Sendable {
    /// Pieces this rank summed and wrote to every rank.
    public var pieces: Int
    /// Of all the step's pieces.
    public var totalPieces: Int
    /// Seconds spent summing and copying (not waiting).
    public var busySeconds: Double

    public init(pieces: Int, totalPieces: Int, busySeconds: Double) {
        (self.pieces, self.totalPieces, self.busySeconds) = (pieces, totalPieces, busySeconds)
    }
}
