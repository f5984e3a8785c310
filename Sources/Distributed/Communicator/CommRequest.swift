import Foundation

/// A handle on an asynchronous collective: `wait()` blocks until it has finished on this rank.
///
/// Requests complete in the order they were issued (one FIFO per communicator). The buffer passed to
/// the asynchronous call belongs to the communicator until `wait()` returns or `isComplete` is true:
/// neither read nor write it, nor free it, before then.
///
/// The communication thread stamps each request when it starts and when it finishes running it
/// (`startedAt`, `finishedAt`), so callers can tell how long the transport was busy with it, apart
/// from the time it sat in the queue behind earlier operations.
public final class CommRequest: @unchecked Sendable {
    /// The condition of the queue that completes this request (shared, so no per-request lock).
    private let condition: NSCondition
    private var done = false
    private var failure: Error?
    /// Written by the communication thread before it runs the operation; published to readers by
    /// `finishLocked` (under the lock) and read only under the lock after that.
    private var started: UInt64 = 0
    private var finished: UInt64 = 0

    /// A pending request, completed later by `finish` under `condition`'s lock.
    init(condition: NSCondition) {
        self.condition = condition
    }

    /// A request that has already failed (e.g. issued after shutdown).
    init(failed error: Error) {
        self.condition = NSCondition()
        self.done = true
        self.failure = error
        started = DispatchTime.now().uptimeNanoseconds
        finished = started
    }

    /// A request that has already completed successfully: for wrappers and test doubles that did the
    /// work synchronously but must return a request.
    public static func completed() -> CommRequest {
        let request = CommRequest(condition: NSCondition())
        request.done = true
        request.started = DispatchTime.now().uptimeNanoseconds
        request.finished = request.started
        return request
    }

    /// Records that the communication thread starts running the operation now (no lock: only that
    /// thread writes it, and `finishLocked` publishes it).
    func markStarted() {
        started = DispatchTime.now().uptimeNanoseconds
    }

    /// Marks the request finished; the caller holds `condition`'s lock and broadcasts afterwards.
    func finishLocked(_ error: Error?) {
        failure = error
        finished = DispatchTime.now().uptimeNanoseconds
        if started == 0 { started = finished }
        done = true
    }

    /// When the communication thread started running the operation (`DispatchTime` uptime
    /// nanoseconds), or nil while it has not completed.
    public var startedAt: UInt64? {
        condition.lock()
        defer { condition.unlock() }
        return done ? started : nil
    }

    /// When the operation finished (`DispatchTime` uptime nanoseconds), or nil while it has not.
    public var finishedAt: UInt64? {
        condition.lock()
        defer { condition.unlock() }
        return done ? finished : nil
    }

    /// Seconds the communication thread spent running the operation (not the time it waited in the
    /// queue); 0 while it has not completed.
    public var busySeconds: Double {
        condition.lock()
        defer { condition.unlock() }
        return done ? Double(finished &- started) / 1e9 : 0
    }

    /// Whether the operation has finished (successfully or not); never blocks for long.
    public var isComplete: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    /// Blocks until the operation has finished; rethrows its error. Safe to call more than once.
    public func wait() throws {
        condition.lock()
        while !done { condition.wait() }
        let error = failure
        condition.unlock()
        if let error { throw error }
    }

    /// Waits for every request (all of them, even after a failure) and then throws the first error.
    public static func waitAll(_ requests: [CommRequest]) throws {
        var first: Error?
        for request in requests {
            do { try request.wait() } catch { if first == nil { first = error } }
        }
        if let first { throw first }
    }
}
