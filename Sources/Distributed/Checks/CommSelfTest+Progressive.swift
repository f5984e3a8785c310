import Foundation

extension CommSelfTest {
    /// The chunk size in which the progressive checks report their buffer final (prime, so that
    /// chunks straddle the transport's pieces).
    static let progressiveChunk = 10_007

    /// A progressive sum (or, where the communicator has none, `allreduce(.sum)` after the same
    /// reports) of small integers or, `fractional`, of fractional values, reported from the top down in chunks except one chunk near the
    /// bottom reported first (as backward finishes a tied embedding early), rank r pausing r ms every
    /// 16 chunks so the ranks finish at different times. Checked against the exact sum; a fractional
    /// sum's digest matches another backend's only if both sum in rank order.
    func progressiveSum(_ comm: any Communicator, count: Int, salt: Int, fractional: Bool) throws -> Local {
        func value(_ i: Int, _ r: Int) -> Float {
            fractional ? Float(selfTestBits(i, r, salt) % 1_000_000) / 997 - 500 : Float(selfTestBits(i, r, salt) % 1000)
        }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = value(i, comm.rank) }
        let sum = try comm.makeProgressiveSum(buffer, count: count)
        sum?.begin()
        let chunk = Self.progressiveChunk
        let early = chunk..<(2 * chunk)
        sum?.markReady(early)
        var upper = count, reported = 0
        while upper > 0 {
            let lower = max(0, upper - chunk)
            // The chunk less the range already reported (the chunk is above, overlaps or is below it).
            let below = lower..<max(lower, min(upper, early.lowerBound))
            let above = min(upper, max(lower, early.upperBound))..<upper
            for part in [above, below] where !part.isEmpty { sum?.markReady(part) }
            reported += 1
            if reported % 16 == 0, comm.rank > 0 { usleep(UInt32(1000 * comm.rank)) }
            upper = lower
        }
        if let sum { _ = try sum.finish() } else {
            try comm.allreduce(UnsafeMutableBufferPointer(start: buffer, count: count), op: .sum)
        }
        if let failure = Self.sumFailure(UnsafeBufferPointer(start: buffer, count: count), ranks: comm.size, value) {
            return Local(failure: failure)
        }
        return Local(digest: selfTestDigest(UnsafeRawBufferPointer(start: buffer, count: count * 4)))
    }

    /// Every rank reports its whole buffer final at once; every rank but 0 then sleeps 0.4 s before
    /// `finish()`: rank 0, there first, must have summed every piece itself and the others none.
    /// Integer values, so the digest is the exact sum on any backend. Where the communicator has no
    /// progressive sum it sums with `allreduce` and notes so.
    func progressiveSumByTheEarlyRank(_ comm: any Communicator, count: Int, salt: Int) throws -> Local {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        defer { buffer.deallocate() }
        for i in 0..<count { buffer[i] = Float(selfTestBits(i, comm.rank, salt) % 1000) }
        var note: String?
        var failure: String?
        if let sum = try comm.makeProgressiveSum(buffer.baseAddress!, count: count) {
            sum.begin()
            sum.markReady(0..<count)
            if comm.rank > 0 { usleep(400_000) }
            let work = try sum.finish()
            let expected = comm.rank == 0 ? work.totalPieces : 0
            if work.pieces != expected || work.totalPieces == 0 {
                failure = "rank \(comm.rank) summed \(work.pieces) of \(work.totalPieces) pieces, expected \(expected)"
            }
            note = "rank \(comm.rank) summed \(work.pieces) of \(work.totalPieces) pieces"
        } else {
            try comm.allreduce(buffer, op: .sum)
            note = "no progressive sum on this communicator: allreduce"
        }
        for i in 0..<count where failure == nil {
            let exact = (0..<comm.size).reduce(Float(0)) { $0 + Float(selfTestBits(i, $1, salt) % 1000) }
            if buffer[i] != exact { failure = "element \(i) of \(count): expected \(exact), got \(buffer[i])" }
        }
        return Local(failure: failure, digest: selfTestDigest(UnsafeRawBufferPointer(buffer)), note: note)
    }
}
