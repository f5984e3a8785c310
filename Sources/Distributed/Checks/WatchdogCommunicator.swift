import Foundation

/// A communicator that notices stalled collectives: it numbers every collective, publishes each one
/// in this rank's heartbeat file, and a watchdog thread reports (`StallReport`) any collective that
/// has not completed `timeout` seconds after it was issued, naming the ranks that never arrived.
///
/// What happens then is the caller's `onStall`: the training command prints the report and ends the
/// whole job with `MPICommunicator.abort` instead of hanging forever; a test can record it and abort
/// an in-process group. The watchdog thread sleeps until the oldest open collective's deadline (or
/// a second when none is open), so it costs nothing per collective; the issuing thread pays one
/// lock and one `pwrite` per collective.
///
/// When the wrapped communicator fails with an MPI error (e.g. `MPI_ERR_TRUNCATE`, the usual symptom
/// of ranks calling different collectives), the error is rethrown with the same diagnosis appended.
public final class WatchdogCommunicator: Communicator, @unchecked Sendable {
    /// One issued collective that has not been seen complete.
    private struct Open {
        var record: CollectiveRecord
        var issued: UInt64
        /// nil for a blocking call (open until it returns).
        var request: CommRequest?
    }

    /// The communicator doing the work.
    public let base: any Communicator
    /// Seconds a collective may stay incomplete before `onStall` runs.
    public let timeout: TimeInterval
    /// This rank's heartbeat file.
    public let heartbeat: HeartbeatFile
    /// The base's rank.
    public var rank: Int { base.rank }
    /// The base's size.
    public var size: Int { base.size }
    /// The base's local rank.
    public var localRank: Int { base.localRank }
    /// The base's local size.
    public var localSize: Int { base.localSize }
    /// The base's name.
    public var backendName: String { base.backendName }

    private let onStall: (StallReport) -> Void
    private let condition = NSCondition()
    private var sequence: UInt64 = 0
    private var open: [Open] = []
    private var head = 0
    private var stopped = false
    /// When the watchdog thread's current wait should end at the latest (uptime ns; 0: not waiting).
    private var wakeBy: UInt64 = 0

    /// Wraps `base`; `heartbeat` must be this rank's file in a directory every rank can read.
    public init(wrapping base: any Communicator, timeout: TimeInterval, heartbeat: HeartbeatFile,
                onStall: @escaping (StallReport) -> Void) {
        precondition(timeout > 0, "the watchdog timeout must be positive")
        self.base = base
        self.timeout = timeout
        self.heartbeat = heartbeat
        self.onStall = onStall
        open.reserveCapacity(256)
        let thread = Thread { [weak self] in
            while let watchdog = self, watchdog.watchOnce() {}
        }
        thread.name = "pretrain.watchdog"
        thread.start()
    }

    /// Stops the watchdog thread (the base is not shut down).
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Collectives issued so far.
    public var issuedCount: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return sequence
    }

    // MARK: - Communicator

    /// Numbers, publishes and watches `base.barrier()`.
    public func barrier() throws {
        try blocking(.barrier, nil, 0) { try base.barrier() }
    }

    /// Numbers, publishes and watches `base.broadcast`.
    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try blocking(.broadcast, T.commDataType, buffer.count) { try base.broadcast(buffer, root: root) }
    }

    /// Numbers, publishes and watches `base.allreduce`.
    public func allreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        try blocking(.allreduce, T.commDataType, buffer.count) { try base.allreduce(buffer, op: op) }
    }

    /// Numbers and publishes `base.allreduceAsync`; the watchdog watches the request until it completes.
    public func allreduceAsync<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) -> CommRequest {
        let record = issue(.allreduce, T.commDataType, buffer.count, blocking: false)
        let request = base.allreduceAsync(buffer, op: op)
        condition.lock()
        open.append(Open(record: record, issued: DispatchTime.now().uptimeNanoseconds, request: request))
        condition.unlock()
        return request
    }

    /// Numbers, publishes and watches `base.allgatherv`.
    public func allgatherv<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                          counts: [Int]) throws {
        try blocking(.allgatherv, T.commDataType, send.count) { try base.allgatherv(send, into: receive, counts: counts) }
    }

    /// Numbers, publishes and watches `base.reduceScatter`.
    public func reduceScatter<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                             counts: [Int], op: ReduceOp) throws {
        try blocking(.reduceScatter, T.commDataType, send.count) {
            try base.reduceScatter(send, into: receive, counts: counts, op: op)
        }
    }

    /// The base's progressive sum, with `finish()` numbered, published and watched as an allreduce.
    public func makeProgressiveSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> (any ProgressiveSum)? {
        try base.makeProgressiveSum(buffer, count: count).map { WatchedProgressiveSum(base: $0, watchdog: self) }
    }

    /// Runs `body` as one watched blocking allreduce of `count` float32.
    fileprivate func watchedSum<R>(count: Int, _ body: () throws -> R) throws -> R {
        var result: R?
        try blocking(.allreduce, .float32, count) { result = try body() }
        return result!
    }

    /// Stops the watchdog, then shuts the base down.
    public func shutdown() throws {
        stop()
        try base.shutdown()
    }

    deinit { stop() }

    // MARK: - Bookkeeping

    /// Numbers and publishes a collective; a blocking one is entered as open until it returns.
    private func issue(_ operation: CommOperation, _ type: CommDataType?, _ count: Int, blocking: Bool) -> CollectiveRecord {
        condition.lock()
        sequence += 1
        let record = CollectiveRecord(sequence: sequence, wallTime: Date().timeIntervalSince1970,
                                      operation: operation, dataType: type, count: count)
        pruneLocked()
        if blocking { open.append(Open(record: record, issued: DispatchTime.now().uptimeNanoseconds, request: nil)) }
        condition.unlock()
        heartbeat.publish(record)
        return record
    }

    /// Runs a blocking collective. Operations complete in issue order, so when it returns every
    /// earlier one has completed too and nothing is open any more.
    private func blocking(_ operation: CommOperation, _ type: CommDataType?, _ count: Int, _ body: () throws -> Void) throws {
        let record = issue(operation, type, count, blocking: true)
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            condition.lock()
            open.removeAll(keepingCapacity: true)
            head = 0
            condition.unlock()
        }
        do {
            try body()
        } catch let CommunicatorError.mpi(call, code, message) where size > 1 {
            let report = diagnose(record, waited: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            guard !report.blamed.isEmpty else { throw CommunicatorError.mpi(call: call, code: code, message: message) }
            throw CommunicatorError.mpi(call: call, code: code,
                                        message: message + "; heartbeats: " + report.details.joined(separator: "; "))
        }
    }

    /// Drops completed asynchronous collectives from the front of the open list.
    private func pruneLocked() {
        while head < open.count, let request = open[head].request, request.isComplete { head += 1 }
        if head == open.count {
            open.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Reads every rank's heartbeat and explains why `record` is stuck.
    private func diagnose(_ record: CollectiveRecord, waited: Double) -> StallReport {
        let beats = (0..<size).map { r in
            HeartbeatFile.read(directory: heartbeat.directory, rank: r, jobToken: heartbeat.jobToken)
        }
        var trouble: [Int: String] = [:]
        for r in 0..<size where r != rank {
            guard let writer = HeartbeatFile.writer(directory: heartbeat.directory, rank: r, jobToken: heartbeat.jobToken),
                  writer.host == HeartbeatFile.hostToken, writer.pid > 0 else { continue }
            trouble[r] = HeartbeatFile.trouble(pid: writer.pid)
        }
        return StallReport.diagnose(rank: rank, stalled: record, waitedSeconds: waited, heartbeats: beats, trouble: trouble)
    }

    /// One round of the watchdog thread: prunes completed collectives, reports the oldest open one if
    /// its deadline has passed, or sleeps until that deadline (at most a second, so that a dropped
    /// communicator is released promptly). Returns false when the thread should end.
    private func watchOnce() -> Bool {
        condition.lock()
        guard !stopped else {
            condition.unlock()
            return false
        }
        pruneLocked()
        let now = DispatchTime.now().uptimeNanoseconds
        // Woken far later than asked: this process did not run (SIGSTOP, then SIGCONT; a suspended
        // host). That time is not the collectives' to blame: a rank resumed while the job is being
        // torn down must not report its peers as stuck.
        if wakeBy > 0, now > wakeBy + 2_000_000_000 {
            let gap = now - wakeBy
            for i in head..<open.count { open[i].issued += gap }
        }
        guard head < open.count else {
            let wait = min(1, timeout)
            wakeBy = now + UInt64(wait * 1e9)
            _ = condition.wait(until: Date(timeIntervalSinceNow: wait))
            condition.unlock()
            return true
        }
        let oldest = open[head]
        let deadline = oldest.issued + UInt64(timeout * 1e9)
        if now < deadline {
            let wait = min(1, Double(deadline - now) / 1e9)
            wakeBy = now + UInt64(wait * 1e9)
            _ = condition.wait(until: Date(timeIntervalSinceNow: wait))
            condition.unlock()
            return true
        }
        stopped = true
        condition.unlock()
        onStall(diagnose(oldest.record, waited: Double(now - oldest.issued) / 1e9))
        return false
    }
}

/// A progressive sum whose `finish()` the watchdog watches like any blocking collective.
private final class WatchedProgressiveSum: ProgressiveSum {
    let base: any ProgressiveSum
    unowned let watchdog: WatchdogCommunicator
    init(base: any ProgressiveSum, watchdog: WatchdogCommunicator) { (self.base, self.watchdog) = (base, watchdog) }
    var count: Int { base.count }
    func begin() { base.begin() }
    func markReady(_ range: Range<Int>) { base.markReady(range) }
    func finish() throws -> ProgressiveSumWork { try watchdog.watchedSum(count: base.count) { try base.finish() } }
}
