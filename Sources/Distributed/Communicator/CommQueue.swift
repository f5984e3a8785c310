import Foundation

/// One communicator's strict issue-order executor: synchronous calls run on the caller, asynchronous
/// ones on a single dedicated communication thread, and nothing ever runs out of turn.
///
/// Every operation takes a ticket when it is issued. Ticket k starts only after ticket k-1 has
/// finished, whichever thread runs it, so (1) collectives execute in the order the program issued
/// them, identically on every rank as long as every rank issues the same sequence, and (2) at most
/// one operation touches the transport at a time (MPI needs only `MPI_THREAD_SERIALIZED`).
/// A synchronous call issued while asynchronous ones are pending waits for them, then runs inline —
/// no thread hand-off and no allocation on the common path (nothing pending).
///
/// The thread starts on the first asynchronous call. `close()` lets queued work finish, then stops
/// the thread; later calls fail with `CommunicatorError.shutDown`.
final class CommQueue: @unchecked Sendable {
    /// A queued asynchronous operation.
    private struct Job {
        let ticket: UInt64
        let request: CommRequest
        let body: () throws -> Void
    }

    /// Guards every field below; also the condition requests wait on.
    let condition = NSCondition()
    private var nextTicket: UInt64 = 0
    /// The ticket allowed to run now; all smaller tickets have finished.
    private var runningTicket: UInt64 = 0
    private var jobs: [Job] = []
    private var head = 0
    private var threadStarted = false
    private var threadExited = false
    private var closed = false
    private let label: String
    /// CPU time the communication thread spent running jobs, in nanoseconds.
    private var threadCPUNanoseconds: UInt64 = 0

    /// Creates an idle queue; `label` names the communication thread (visible in debuggers).
    init(label: String) {
        self.label = label
    }

    /// Runs `body` on the calling thread once every earlier operation has finished.
    func sync<R>(_ operation: String, _ body: () throws -> R) throws -> R {
        condition.lock()
        if closed {
            condition.unlock()
            throw CommunicatorError.shutDown(operation: operation)
        }
        let ticket = nextTicket
        nextTicket += 1
        while runningTicket != ticket { condition.wait() }
        condition.unlock()
        defer {
            condition.lock()
            runningTicket += 1
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    /// Queues `body` for the communication thread and returns at once.
    func async(_ operation: String, _ body: @escaping () throws -> Void) -> CommRequest {
        condition.lock()
        defer { condition.unlock() }
        if closed { return CommRequest(failed: CommunicatorError.shutDown(operation: operation)) }
        let request = CommRequest(condition: condition)
        jobs.append(Job(ticket: nextTicket, request: request, body: body))
        nextTicket += 1
        if !threadStarted {
            threadStarted = true
            let thread = Thread { [self] in self.serve() }
            thread.name = label
            thread.start()
        }
        condition.broadcast()
        return request
    }

    /// The communication thread's loop: run queued jobs in ticket order until closed and drained.
    private func serve() {
        condition.lock()
        while true {
            while head == jobs.count || jobs[head].ticket != runningTicket {
                if closed && head == jobs.count {
                    threadExited = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                condition.wait()
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job.request.markStarted()
            let cpuStart = Self.threadCPUTime()
            var failure: Error?
            do { try job.body() } catch { failure = error }
            let cpuEnd = Self.threadCPUTime()
            condition.lock()
            threadCPUNanoseconds &+= cpuEnd &- cpuStart
            job.request.finishLocked(failure)
            runningTicket += 1
            condition.broadcast()
        }
    }

    /// CPU seconds the communication thread has spent running asynchronous operations so far
    /// (`CLOCK_THREAD_CPUTIME_ID`): what overlapped communication took from the cores, whether or not
    /// the step waited for it.
    var communicationThreadCPUSeconds: Double {
        condition.lock()
        defer { condition.unlock() }
        return Double(threadCPUNanoseconds) / 1e9
    }

    /// The calling thread's CPU time in nanoseconds.
    private static func threadCPUTime() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
    }

    /// Whether `close()` has been called.
    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Refuses new work, waits until everything issued has finished and the thread has exited.
    /// Idempotent. Returns whether this call was the one that closed the queue.
    @discardableResult
    func close() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let first = !closed
        closed = true
        condition.broadcast()
        while runningTicket != nextTicket { condition.wait() }
        while threadStarted && !threadExited { condition.wait() }
        return first
    }
}
