import Foundation

/// N ranks as threads of one process: the shared rendezvous behind `InProcessCommunicator`, a
/// first-class test double for everything written against `Communicator`.
///
/// Make a group, hand `communicator(rank:)` to each of N threads (or let `run` do it), and collectives
/// meet here under one lock. Results are deterministic: reductions combine ranks in order 0, 1, …,
/// N-1 with the same arithmetic as `MPICommunicator`'s post-processing, so integer inputs (and
/// floats whose sums are exact) give the same bits as MPI.
///
/// Unlike MPI, the group checks that all ranks called the same collective with the same type, op,
/// root and counts, and throws `.invalidArgument` on every rank when they did not. When one rank
/// fails, `abort(reason:)` (done by `run` automatically) makes every rank waiting in or later
/// entering a collective throw `.aborted` instead of hanging.
public final class InProcessGroup: @unchecked Sendable {
    /// What one rank brought to a collective.
    struct Deposit {
        var operation: String
        var type: CommDataType?
        var op: ReduceOp?
        var root = 0
        var count = 0
        var counts: [Int] = []
        var send: UnsafeRawPointer?
        var receive: UnsafeMutableRawPointer?
        /// Why this rank's own arguments are invalid, if they are (every rank then throws).
        var problem: CommunicatorError?
    }

    /// The number of ranks.
    public let size: Int
    /// Ranks per simulated host: rank r has local rank r % ranksPerHost.
    public let ranksPerHost: Int

    private let condition = NSCondition()
    private var deposits: [Deposit?]
    private var published: [Deposit] = []
    private var arrived = 0
    private var generation: UInt64 = 0
    private var abortReason: String?
    private var claimed: [Bool]
    /// Result buffer of the allreduce in progress (each rank reduces one slice of it).
    private(set) var sharedScratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
    private var sharedScratchBytes = 64

    /// Creates a group of `size` ranks; `ranksPerHost` (default: all) sets `localRank`/`localSize`.
    public init(size: Int, ranksPerHost: Int? = nil) {
        precondition(size >= 1, "an in-process group needs at least one rank")
        let perHost = ranksPerHost ?? size
        precondition(perHost >= 1, "ranksPerHost must be at least 1")
        self.size = size
        self.ranksPerHost = perHost
        deposits = [Deposit?](repeating: nil, count: size)
        claimed = [Bool](repeating: false, count: size)
    }

    deinit { sharedScratch.deallocate() }

    /// The communicator of `rank`; each rank may be claimed once.
    public func communicator(rank: Int) -> InProcessCommunicator {
        precondition((0..<size).contains(rank), "rank \(rank) is not in 0..<\(size)")
        condition.lock()
        precondition(!claimed[rank], "rank \(rank) of this group was already claimed")
        claimed[rank] = true
        condition.unlock()
        let hostStart = rank / ranksPerHost * ranksPerHost
        return InProcessCommunicator(group: self, rank: rank, localRank: rank - hostStart,
                                     localSize: min(ranksPerHost, size - hostStart))
    }

    /// The communicators of all ranks, in rank order.
    public func communicators() -> [InProcessCommunicator] {
        (0..<size).map { communicator(rank: $0) }
    }

    /// Fails the group: every rank waiting in a collective, and every later collective, throws
    /// `CommunicatorError.aborted` with `reason`. The first reason sticks.
    public func abort(reason: String) {
        condition.lock()
        if abortReason == nil { abortReason = reason }
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `body` once per rank, each on its own thread with its own communicator, and returns the
    /// results in rank order. If any rank throws, the group is aborted (so no rank hangs) and the
    /// first error of the lowest failing rank is rethrown (errors that are mere `.aborted` echoes
    /// of another rank's failure come last). Communicators are shut down when their body returns.
    public static func run<R>(size: Int, ranksPerHost: Int? = nil,
                              _ body: @escaping (InProcessCommunicator) throws -> R) throws -> [R] {
        let group = InProcessGroup(size: size, ranksPerHost: ranksPerHost)
        let communicators = group.communicators()
        let outcomes = Outcomes<R>(size: size)
        let finished = DispatchSemaphore(value: 0)
        for rank in 0..<size {
            let thread = Thread {
                let comm = communicators[rank]
                do {
                    outcomes.set(rank, .success(try body(comm)))
                } catch {
                    outcomes.set(rank, .failure(error))
                    group.abort(reason: "rank \(rank): \(error)")
                }
                try? comm.shutdown()
                finished.signal()
            }
            thread.name = "in-process rank \(rank)"
            thread.stackSize = 8 << 20
            thread.start()
        }
        for _ in 0..<size { finished.wait() }
        return try outcomes.collect()
    }

    /// Per-rank results of `run`, written by the rank threads under a lock.
    private final class Outcomes<R>: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Result<R, Error>?]

        init(size: Int) { values = Array(repeating: nil, count: size) }

        func set(_ rank: Int, _ value: Result<R, Error>) {
            lock.lock()
            values[rank] = value
            lock.unlock()
        }

        /// The results in rank order, or the first error that is not an echo of another's abort.
        func collect() throws -> [R] {
            lock.lock()
            defer { lock.unlock() }
            var failures: [Error] = []
            var results: [R] = []
            for case let value? in values {
                switch value {
                case .success(let r): results.append(r)
                case .failure(let e): failures.append(e)
                }
            }
            if let primary = failures.first(where: { !InProcessGroup.isAbortEcho($0) }) ?? failures.first {
                throw primary
            }
            return results
        }
    }

    fileprivate static func isAbortEcho(_ error: Error) -> Bool {
        if case .aborted? = error as? CommunicatorError { return true }
        return false
    }

    // MARK: - Rendezvous (used by InProcessCommunicator)

    /// Deposits `deposit` for `rank`, waits for every rank, and returns all deposits in rank order.
    /// For an allreduce, the shared result buffer is grown to `bytes` before anyone proceeds.
    func exchange(rank: Int, _ deposit: Deposit, growScratch: Bool = false) throws -> [Deposit] {
        condition.lock()
        defer { condition.unlock() }
        deposits[rank] = deposit
        try meetLocked(operation: deposit.operation) {
            published = deposits.map { $0! }
            for r in 0..<size { deposits[r] = nil }
            let needed = published.map { $0.count * ($0.type?.byteWidth ?? 0) }.max() ?? 0
            if growScratch && needed > sharedScratchBytes {
                sharedScratch.deallocate()
                sharedScratch = UnsafeMutableRawPointer.allocate(byteCount: needed, alignment: 64)
                sharedScratchBytes = needed
            }
        }
        return published
    }

    /// Waits until every rank has reached the same point (no data exchanged).
    func meet(rank: Int, operation: String) throws {
        condition.lock()
        defer { condition.unlock() }
        try meetLocked(operation: operation) {}
    }

    /// The barrier itself; `last` runs (under the lock) in the last rank to arrive, before release.
    private func meetLocked(operation: String, last: () -> Void) throws {
        if let abortReason { throw CommunicatorError.aborted(operation: operation, reason: abortReason) }
        let myGeneration = generation
        arrived += 1
        if arrived == size {
            last()
            arrived = 0
            generation &+= 1
            condition.broadcast()
            return
        }
        while generation == myGeneration {
            if let abortReason { throw CommunicatorError.aborted(operation: operation, reason: abortReason) }
            condition.wait()
        }
    }
}
