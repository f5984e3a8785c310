import Foundation

/// One rank of an `InProcessGroup`: a `Communicator` whose peers are threads of this process.
///
/// Semantics match `MPICommunicator` (same validation, same element arithmetic, same FIFO of
/// synchronous and asynchronous calls with one communication thread per rank), plus checks MPI
/// cannot make: ranks must agree on the collective, type, op, root and counts. Argument checks are
/// collective: every rank deposits its call first, and if any rank's arguments are invalid, every
/// rank throws (the invalid one its own error, the others an error naming that rank) — a mistake on
/// one rank never leaves the others waiting. Reductions combine ranks in order 0…N-1; errors name
/// the operation in lower case ("allreduce", "broadcast", …).
public final class InProcessCommunicator: Communicator, @unchecked Sendable {
    /// This rank's index in its group.
    public let rank: Int
    /// The number of ranks in the group.
    public var size: Int { group.size }
    /// This rank's index on its simulated host (`rank % ranksPerHost`).
    public let localRank: Int
    /// The number of ranks on this rank's simulated host.
    public let localSize: Int
    /// "in-process".
    public var backendName: String { "in-process" }
    /// The group this rank belongs to.
    public let group: InProcessGroup

    private let queue: CommQueue

    /// Made by `InProcessGroup.communicator(rank:)`.
    init(group: InProcessGroup, rank: Int, localRank: Int, localSize: Int) {
        self.group = group
        self.rank = rank
        self.localRank = localRank
        self.localSize = localSize
        queue = CommQueue(label: "in-process comm \(rank)")
    }

    deinit { queue.close() }

    /// Blocks until every rank has called `barrier`.
    public func barrier() throws {
        try queue.sync("barrier") {
            _ = try group.exchange(rank: rank, .init(operation: "barrier"))
        }
    }

    /// Replaces `buffer` with `root`'s.
    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let problem = Self.problem { try CommValidation.check(root: root, size: size, operation: "broadcast") }
        let type = T.commDataType
        try queue.sync("broadcast") {
            let deposit = InProcessGroup.Deposit(operation: "broadcast", type: type, root: root, count: buffer.count,
                                                 receive: UnsafeMutableRawPointer(buffer.baseAddress), problem: problem)
            let all = try group.exchange(rank: rank, deposit)
            try agree(all, sameCount: true)
            if rank != root, buffer.count > 0 {
                buffer.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: buffer.count * type.byteWidth) {
                    $0.update(from: all[root].receive!.assumingMemoryBound(to: UInt8.self),
                              count: buffer.count * type.byteWidth)
                }
            }
            try group.meet(rank: rank, operation: "broadcast")
        }
    }

    /// Reduces `buffer` in place across ranks, combining ranks in order 0…N-1.
    public func allreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        let type = T.commDataType
        let problem = Self.problem { try CommValidation.check(op: op, type: type, operation: "allreduce") }
        try queue.sync("allreduce") {
            try allreduceNow(UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, type, op, problem)
        }
    }

    /// Queues `allreduce(buffer, op:)` on this rank's communication thread.
    public func allreduceAsync<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) -> CommRequest {
        let type = T.commDataType
        let problem = Self.problem { try CommValidation.check(op: op, type: type, operation: "allreduce") }
        let base = UnsafeMutableRawPointer(buffer.baseAddress), count = buffer.count
        return queue.async("allreduce") { [unowned self] in try self.allreduceNow(base, count, type, op, problem) }
    }

    /// Gathers uneven blocks from every rank, in rank order.
    public func allgatherv<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                          counts: [Int]) throws {
        let problem = Self.problem {
            try CommValidation.check(counts: counts, size: size, rank: rank, mine: send.count, total: receive.count,
                                     mineName: "send", totalName: "receive", operation: "allgatherv")
        }
        let type = T.commDataType
        try queue.sync("allgatherv") {
            let deposit = InProcessGroup.Deposit(operation: "allgatherv", type: type, counts: counts,
                                                 send: UnsafeRawPointer(send.baseAddress), problem: problem)
            let all = try group.exchange(rank: rank, deposit)
            try agree(all, sameCount: false)
            let width = type.byteWidth
            var offset = 0
            for r in 0..<size {
                let bytes = counts[r] * width
                if bytes > 0 {
                    UnsafeMutableRawPointer(receive.baseAddress!).advanced(by: offset)
                        .copyMemory(from: all[r].send!, byteCount: bytes)
                }
                offset += bytes
            }
            try group.meet(rank: rank, operation: "allgatherv")
        }
    }

    /// Reduces `send` across ranks (in rank order) and keeps this rank's block in `receive`.
    public func reduceScatter<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                             counts: [Int], op: ReduceOp) throws {
        let type = T.commDataType
        let problem = Self.problem {
            try CommValidation.check(op: op, type: type, operation: "reduceScatter")
            try CommValidation.check(counts: counts, size: size, rank: rank, mine: receive.count, total: send.count,
                                     mineName: "receive", totalName: "send", operation: "reduceScatter")
        }
        try queue.sync("reduceScatter") {
            let deposit = InProcessGroup.Deposit(operation: "reduceScatter", type: type, op: op, counts: counts,
                                                 send: UnsafeRawPointer(send.baseAddress), problem: problem)
            let all = try group.exchange(rank: rank, deposit)
            try agree(all, sameCount: false)
            let width = type.byteWidth
            let offset = counts[0..<rank].reduce(0, +) * width
            let mine = receive.count
            if mine > 0 {
                let out = UnsafeMutableRawPointer(receive.baseAddress!)
                out.copyMemory(from: all[0].send! + offset, byteCount: mine * width)
                for r in 1..<size {
                    ReductionKernels.combine(into: out, from: all[r].send! + offset, count: mine, type: type, op: op)
                }
                if op == .average { ReductionKernels.divide(out, count: mine, type: type, by: size) }
            }
            try group.meet(rank: rank, operation: "reduceScatter")
        }
    }

    /// Stops this rank's communication thread after its queued work; idempotent.
    public func shutdown() throws {
        queue.close()
    }

    // MARK: - Under the queue's turn

    /// Each rank reduces one slice of the group's shared result (ranks combined in order), then
    /// every rank copies the whole result back into its buffer.
    private func allreduceNow(_ base: UnsafeMutableRawPointer?, _ count: Int, _ type: CommDataType,
                              _ op: ReduceOp, _ problem: CommunicatorError?) throws {
        let deposit = InProcessGroup.Deposit(operation: "allreduce", type: type, op: op, count: count, receive: base,
                                             problem: problem)
        let all = try group.exchange(rank: rank, deposit, growScratch: true)
        try agree(all, sameCount: true)
        let width = type.byteWidth
        let per = (count + size - 1) / size
        let lo = min(count, rank * per), hi = min(count, lo + per)
        if hi > lo {
            let out = group.sharedScratch + lo * width
            out.copyMemory(from: all[0].receive! + lo * width, byteCount: (hi - lo) * width)
            for r in 1..<size {
                ReductionKernels.combine(into: out, from: all[r].receive! + lo * width, count: hi - lo,
                                         type: type, op: op)
            }
            if op == .average { ReductionKernels.divide(out, count: hi - lo, type: type, by: size) }
        }
        try group.meet(rank: rank, operation: "allreduce")
        if count > 0 { base!.copyMemory(from: group.sharedScratch, byteCount: count * width) }
        try group.meet(rank: rank, operation: "allreduce")
    }

    /// The error `check` throws, if any (checked now, thrown after the ranks have met).
    private static func problem(_ check: () throws -> Void) -> CommunicatorError? {
        do {
            try check()
            return nil
        } catch let error as CommunicatorError {
            return error
        } catch {
            return .invalidArgument(operation: "collective", message: "\(error)")
        }
    }

    /// Throws on every rank when any rank's arguments were invalid, or when the ranks did not all
    /// call the same collective the same way.
    private func agree(_ all: [InProcessGroup.Deposit], sameCount: Bool) throws {
        let mine = all[rank]
        if let problem = mine.problem { throw problem }
        if let bad = all.firstIndex(where: { $0.problem != nil }), let problem = all[bad].problem {
            throw CommunicatorError.invalidArgument(
                operation: mine.operation, message: "rank \(bad)'s arguments were invalid: \(problem)")
        }
        for (r, other) in all.enumerated() {
            let same = other.operation == mine.operation && other.type == mine.type && other.op == mine.op
                && other.root == mine.root && other.counts == mine.counts && (!sameCount || other.count == mine.count)
            if !same {
                throw CommunicatorError.invalidArgument(
                    operation: mine.operation,
                    message: "ranks disagree: rank \(rank) called \(Self.describe(mine)), rank \(r) called "
                        + "\(Self.describe(other)); every rank must issue the same collectives in the same order")
            }
        }
    }

    private static func describe(_ d: InProcessGroup.Deposit) -> String {
        var parts: [String] = []
        if let type = d.type { parts.append(type.rawValue) }
        if let op = d.op { parts.append("op \(op.rawValue)") }
        if d.operation == "broadcast" { parts.append("root \(d.root)") }
        if d.counts.isEmpty { parts.append("count \(d.count)") } else { parts.append("counts \(d.counts)") }
        return "\(d.operation)(\(parts.joined(separator: ", ")))"
    }
}
