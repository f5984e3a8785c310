import Foundation

/// Wraps any `Communicator` to count its calls and bytes and, optionally, to make it artificially
/// slow (a fixed delay per call plus a delay per byte).
///
/// Use it to test what a training loop sends (e.g. that non-final micro-steps of gradient
/// accumulation issue nothing) and whether asynchronous allreduces really overlap compute: the
/// delay is slept on the thread that executes the operation — the caller for synchronous calls, this
/// wrapper's own communication thread for `allreduceAsync` — before the wrapped call runs.
/// Calls are recorded when issued. Synchronous and asynchronous calls keep one FIFO, as everywhere.
public final class InstrumentedCommunicator: Communicator, @unchecked Sendable {
    /// The communicator doing the real work.
    public let base: any Communicator
    /// `base.rank`.
    public var rank: Int { base.rank }
    /// `base.size`.
    public var size: Int { base.size }
    /// `base.localRank`.
    public var localRank: Int { base.localRank }
    /// `base.localSize`.
    public var localSize: Int { base.localSize }
    /// "instrumented(<base>)".
    public var backendName: String { "instrumented(\(base.backendName))" }

    private let lock = NSLock()
    private var recorded = CommStats()
    private var perCall: TimeInterval
    private var perByte: TimeInterval
    private let queue = CommQueue(label: "instrumented comm")

    /// Wraps `base`; every operation first sleeps `delayPerCall + delayPerByte × bytes` seconds.
    public init(wrapping base: any Communicator, delayPerCall: TimeInterval = 0, delayPerByte: TimeInterval = 0) {
        precondition(delayPerCall >= 0 && delayPerByte >= 0, "delays cannot be negative")
        self.base = base
        perCall = delayPerCall
        perByte = delayPerByte
    }

    deinit { queue.close() }

    /// Calls and bytes recorded so far.
    public var stats: CommStats {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    /// Forgets the calls and bytes recorded so far.
    public func resetStats() {
        lock.lock()
        recorded = CommStats()
        lock.unlock()
    }

    /// Changes the artificial delays for operations issued from now on.
    public func setDelay(perCall: TimeInterval, perByte: TimeInterval) {
        precondition(perCall >= 0 && perByte >= 0, "delays cannot be negative")
        lock.lock()
        self.perCall = perCall
        self.perByte = perByte
        lock.unlock()
    }

    /// Counts and delays, then forwards to `base.barrier()`.
    public func barrier() throws {
        let delay = record(.barrier, bytes: 0)
        try queue.sync("barrier") { sleep(delay); try base.barrier() }
    }

    /// Counts and delays, then forwards to `base.broadcast`.
    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let delay = record(.broadcast, bytes: buffer.count * MemoryLayout<T>.stride)
        try queue.sync("broadcast") { sleep(delay); try base.broadcast(buffer, root: root) }
    }

    /// Counts and delays, then forwards to `base.allreduce`.
    public func allreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        let delay = record(.allreduce, bytes: buffer.count * MemoryLayout<T>.stride)
        try queue.sync("allreduce") { sleep(delay); try base.allreduce(buffer, op: op) }
    }

    /// Counts, then queues delay + `base.allreduce` on this wrapper's communication thread.
    public func allreduceAsync<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) -> CommRequest {
        let delay = record(.allreduceAsync, bytes: buffer.count * MemoryLayout<T>.stride)
        do {
            try CommValidation.check(op: op, type: T.commDataType, operation: "allreduce")
        } catch {
            return CommRequest(failed: error)
        }
        let base = self.base
        return queue.async("allreduce") { [self] in
            sleep(delay)
            try base.allreduce(buffer, op: op)
        }
    }

    /// Counts and delays, then forwards to `base.allgatherv`.
    public func allgatherv<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                          counts: [Int]) throws {
        let delay = record(.allgatherv, bytes: send.count * MemoryLayout<T>.stride)
        try queue.sync("allgatherv") { sleep(delay); try base.allgatherv(send, into: receive, counts: counts) }
    }

    /// Counts and delays, then forwards to `base.reduceScatter`.
    public func reduceScatter<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                             counts: [Int], op: ReduceOp) throws {
        let delay = record(.reduceScatter, bytes: send.count * MemoryLayout<T>.stride)
        try queue.sync("reduceScatter") {
            sleep(delay)
            try base.reduceScatter(send, into: receive, counts: counts, op: op)
        }
    }

    /// Finishes queued work, stops this wrapper's thread, then shuts `base` down. Idempotent.
    public func shutdown() throws {
        queue.close()
        try base.shutdown()
    }

    /// Records one call and returns the delay it should suffer.
    private func record(_ operation: CommOperation, bytes: Int) -> TimeInterval {
        lock.lock()
        defer { lock.unlock() }
        recorded.record(operation, byteCount: bytes)
        return perCall + perByte * Double(bytes)
    }

    private func sleep(_ seconds: TimeInterval) {
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    }
}
