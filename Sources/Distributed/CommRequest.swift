import Foundation

/// A handle on an asynchronous collective: `wait()` blocks until it has finished on this rank.
///
/// Requests complete in the order they were issued (one FIFO per communicator). The buffer passed to
/// the asynchronous call belongs to the communicator until `wait()` returns or `isComplete` is true:
/// neither read nor write it, nor free it, before then.
public final class CommRequest: @unchecked Sendable {
    /// The condition of the queue that completes this request (shared, so no per-request lock).
    private let condition: NSCondition
    private var done = false
    private var failure: Error?

    /// A pending request, completed later by `finish` under `condition`'s lock.
    init(condition: NSCondition) {
        self.condition = condition
    }

    /// A request that has already failed (e.g. issued after shutdown).
    init(failed error: Error) {
        self.condition = NSCondition()
        self.done = true
        self.failure = error
    }

    /// A request that has already completed successfully: for wrappers and test doubles that did the
    /// work synchronously but must return a request.
    public static func completed() -> CommRequest {
        let request = CommRequest(condition: NSCondition())
        request.done = true
        return request
    }

    /// Marks the request finished; the caller holds `condition`'s lock and broadcasts afterwards.
    func finishLocked(_ error: Error?) {
        failure = error
        done = true
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
