import Foundation

/// Records where one rank's time goes as a Chrome trace (the JSON array that chrome://tracing and
/// Perfetto open): one complete ("ph":"X") event per forward/backward layer, gradient bucket
/// allreduce, optimizer step, evaluation and checkpoint write.
///
/// Event names (the `name` field; `cat` in parentheses):
/// - `step` (step): one optimizer step, args.step = its number (1-based)
/// - `forward embedding`, `forward layer L`, `forward head` (forward): token + position embedding,
///   block L, and final LayerNorm + LM head + loss
/// - `backward head`, `backward layer L`, `backward embedding` (backward): the same in reverse;
///   args.range = [lo, hi), the flat-buffer range whose gradient is final when the event ends
/// - `allreduce bucket K` (comm, thread 1 "communication"): the transport running bucket K of the
///   gradient (from the moment the communication thread starts it to when it finishes);
///   args.range = [lo, hi), args.launched_us = when backward handed it over
/// - `gradient sync wait` (comm): the compute thread blocked until every bucket is reduced (exposed
///   communication), or in the ZeRO-1 gradient reduce-scatter
/// - `optimizer step` (optimizer), `eval` (eval)
/// - `checkpoint write` (checkpoint): staging the state for a save, what the step stalls for (the
///   shard is then compressed and written in the background); `checkpoint commit` (checkpoint):
///   waiting for that write and committing the checkpoint with the other ranks
///
/// Times are microseconds since the recorder was made (`DispatchTime` uptime, the clock
/// `CommRequest` stamps with). The trainer makes it right after the setup's collectives (weights
/// broadcast and checked), so the ranks' files, opened together, line up to within a collective's
/// latency. `pid` is the rank, `tid` 0 the compute thread and 1 the communication
/// thread. Events are kept in a buffer reserved up front and written by `flush()` (the training loop
/// calls it once per step), so recording allocates nothing; `close()` ends the JSON array. A file
/// cut short by a crash lacks only the closing `]`, which the trace viewers accept.
public final class Timeline {
    /// What an event measured; with its index this gives the event's name.
    public enum Kind: Int, Sendable {
        case step, forwardEmbedding, forwardLayer, forwardHead, backwardHead, backwardLayer, backwardEmbedding
        case allreduceBucket, gradientSyncWait, optimizerStep, eval, checkpointWrite, checkpointCommit

        /// The event's `cat`.
        public var category: String {
            switch self {
            case .step: "step"
            case .forwardEmbedding, .forwardLayer, .forwardHead: "forward"
            case .backwardHead, .backwardLayer, .backwardEmbedding: "backward"
            case .allreduceBucket, .gradientSyncWait: "comm"
            case .optimizerStep: "optimizer"
            case .eval: "eval"
            case .checkpointWrite, .checkpointCommit: "checkpoint"
            }
        }

        /// The event's `name` for index `i` (a layer or bucket number where the kind has one).
        public func name(_ i: Int) -> String {
            switch self {
            case .step: "step"
            case .forwardEmbedding: "forward embedding"
            case .forwardLayer: "forward layer \(i)"
            case .forwardHead: "forward head"
            case .backwardHead: "backward head"
            case .backwardLayer: "backward layer \(i)"
            case .backwardEmbedding: "backward embedding"
            case .allreduceBucket: "allreduce bucket \(i)"
            case .gradientSyncWait: "gradient sync wait"
            case .optimizerStep: "optimizer step"
            case .eval: "eval"
            case .checkpointWrite: "checkpoint write"
            case .checkpointCommit: "checkpoint commit"
            }
        }
    }

    struct Event {
        var kind: Kind
        var index: Int
        var start: UInt64
        var end: UInt64
        var thread: Int
        var rangeLower: Int
        var rangeUpper: Int
        var extra: UInt64
    }

    /// The trace file.
    public let path: String
    /// The rank (the trace's `pid`).
    public let rank: Int
    /// Time zero of the trace (`DispatchTime` uptime nanoseconds).
    public let origin: UInt64
    private let handle: FileHandle
    private var events: [Event] = []
    private var written = 0
    private var closed = false
    private let lock = NSLock()

    /// Creates (or truncates) `path`, making its directory, and writes the trace's process and thread
    /// names. Throws a `ModelError` naming the path when it cannot be written.
    public init(path: String, rank: Int, origin: UInt64 = DispatchTime.now().uptimeNanoseconds) throws {
        self.path = path
        self.rank = rank
        self.origin = origin
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        } catch {
            throw ModelError("cannot create \(directory) for the timeline: \(error.localizedDescription); check logging.run_dir")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ModelError("cannot write the timeline \(path); check logging.run_dir or set logging.timeline: false")
        }
        self.handle = handle
        events.reserveCapacity(4096)
        let meta = """
        [
        {"name":"process_name","ph":"M","pid":\(rank),"tid":0,"args":{"name":"rank \(rank)"}},
        {"name":"thread_name","ph":"M","pid":\(rank),"tid":0,"args":{"name":"compute"}},
        {"name":"thread_name","ph":"M","pid":\(rank),"tid":1,"args":{"name":"communication"}}
        """
        handle.write(Data(meta.utf8))
    }

    deinit { try? handle.close() }

    /// The current time on the trace's clock (uptime nanoseconds).
    @inline(__always) public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Records an event of `kind` that ran from `start` to `end` (uptime nanoseconds; `end` defaults to
    /// now). `range` is the flat-buffer range it concerns, if any; `extra` a kind-specific number
    /// (the step for `.step`, the hand-over time for `.allreduceBucket`). Thread-safe.
    public func record(_ kind: Kind, index: Int = 0, start: UInt64, end: UInt64 = Timeline.now(), thread: Int = 0,
                       range: Range<Int>? = nil, extra: UInt64 = 0) {
        let event = Event(kind: kind, index: index, start: start, end: max(start, end), thread: thread,
                          rangeLower: range?.lowerBound ?? -1, rangeUpper: range?.upperBound ?? -1, extra: extra)
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    /// Times `body` as one event of `kind`.
    @inline(__always)
    public func measure<R>(_ kind: Kind, index: Int = 0, _ body: () throws -> R) rethrows -> R {
        let start = Self.now()
        defer { record(kind, index: index, start: start) }
        return try body()
    }

    /// Microseconds since `origin` (negative for a time before it).
    private func micros(_ t: UInt64) -> Double { (Double(t) - Double(origin)) / 1000 }

    /// Writes the buffered events to the file (and forgets them).
    public func flush() {
        guard !closed else { return }
        lock.lock()
        let pending = events
        events.removeAll(keepingCapacity: true)
        lock.unlock()
        guard !pending.isEmpty else { return }
        var text = ""
        for e in pending {
            var args = ""
            if e.rangeLower >= 0 { args += "\"range\":[\(e.rangeLower),\(e.rangeUpper)]" }
            if e.kind == .step { args += "\"step\":\(e.extra)" }
            if e.kind == .allreduceBucket, e.extra > 0 {
                args += (args.isEmpty ? "" : ",") + String(format: "\"launched_us\":%.3f", micros(e.extra))
            }
            text += String(format: ",\n{\"name\":\"%@\",\"cat\":\"%@\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,\"tid\":%d,\"args\":{%@}}",
                           e.kind.name(e.index), e.kind.category, micros(e.start), Double(e.end - e.start) / 1000,
                           rank, e.thread, args)
        }
        written += pending.count
        handle.write(Data(text.utf8))
    }

    /// Events written so far.
    public var eventsWritten: Int { written }

    /// Writes what is buffered and closes the JSON array (once; later calls do nothing).
    public func close() {
        guard !closed else { return }
        flush()
        closed = true
        handle.write(Data("\n]\n".utf8))
        try? handle.synchronize()
    }
}
