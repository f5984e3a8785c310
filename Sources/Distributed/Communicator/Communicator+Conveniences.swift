/// Array and scalar forms of the buffer collectives, for code that is not on a hot path.
extension Communicator {
    /// Reduces `array` element-wise across ranks, in place.
    public func allreduce<T: CommScalar>(_ array: inout [T], op: ReduceOp) throws {
        try array.withUnsafeMutableBufferPointer { try allreduce($0, op: op) }
    }

    /// Reduces one value across ranks and returns the result (e.g. the mean loss).
    public func allreduce<T: CommScalar>(_ value: T, op: ReduceOp) throws -> T {
        var one = [value]
        try allreduce(&one, op: op)
        return one[0]
    }

    /// Replaces `array` with `root`'s array (every rank must pass the same length).
    public func broadcast<T: CommScalar>(_ array: inout [T], root: Int) throws {
        try array.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Gathers every rank's `send` (rank r sends `counts[r]` elements) into one array in rank order.
    public func allgatherv<T: CommScalar>(_ send: [T], counts: [Int]) throws -> [T] {
        let receive = UnsafeMutableBufferPointer<T>.allocate(capacity: Swift.max(1, counts.reduce(0, +)))
        defer { receive.deallocate() }
        let slice = UnsafeMutableBufferPointer(rebasing: receive[0..<counts.reduce(0, +)])
        try send.withUnsafeBufferPointer { try allgatherv($0, into: slice, counts: counts) }
        return Array(slice)
    }

    /// Reduces `send` across ranks and returns this rank's block of the result (`counts[rank]` long).
    public func reduceScatter<T: CommScalar>(_ send: [T], counts: [Int], op: ReduceOp) throws -> [T] {
        precondition(rank < counts.count, "counts must have one entry per rank")
        let receive = UnsafeMutableBufferPointer<T>.allocate(capacity: Swift.max(1, counts[rank]))
        defer { receive.deallocate() }
        let slice = UnsafeMutableBufferPointer(rebasing: receive[0..<counts[rank]])
        try send.withUnsafeBufferPointer { try reduceScatter($0, into: slice, counts: counts, op: op) }
        return Array(slice)
    }
}
