import Foundation
import Support

/// Reduces a flat gradient buffer across ranks in buckets, optionally overlapping communication with
/// backward and optionally in bfloat16.
///
/// Buckets are contiguous ranges of the buffer cut from its high end (the model's last layers, whose
/// gradients backward finishes first), each about `bucketElements` long; a bucket never straddles one
/// of the `boundaries`, so a range that backward finishes out of order (the tied token embedding,
/// finished by the LM head) can travel on its own. Uncompressed buckets are
/// reduced in place: no copy into a fusion buffer, since every bucket is already contiguous. With
/// `.bf16` compression each bucket is rounded into a bfloat16 side buffer allocated once (same
/// offsets), reduced there with a bfloat16 sum and widened back (see `GradientCompression`).
///
/// Two schedules:
/// - overlapped (`overlapsBackward`): during backward the caller reports finished ranges with
///   `markReady`, each element at most once per step, in any order; a bucket is handed to the
///   communicator's background thread as soon as all of it has been reported, so communication runs
///   while backward continues. Buckets therefore go out in the order backward finishes them, which
///   is the same on every rank (collectives must be issued in one order). `finish()` hands over the
///   rest, in bucket order, and waits.
/// - after backward: `finish()` reduces every bucket with blocking calls on the caller's thread. On
///   machines where the communication thread can only steal cycles from the compute thread (one core
///   per rank) this avoids context switches and is not slower. Where the communicator offers a
///   `ProgressiveSum` (ranks on one host) and the sum is uncompressed, `markReady` reports the
///   finished ranges to it instead, and `finish()` lets a rank that finished backward early sum what
///   the slower ranks have already finished (`reducesProgressively`); otherwise `markReady` does nothing.
///
/// `op` is `.sum` (the caller pre-scaled its gradients by 1/ranks, the cheapest: no pass over the
/// buffer after the transport) or `.average`. Knows only buffers: no model types, as Horovod's core.
/// Allocates nothing per step.
public final class GradientAllreducer {
    /// The bucket ranges, highest offsets first (the order they are sent when backward finishes the
    /// buffer from the top; otherwise the order they become complete, see `markReady`).
    public let buckets: [Range<Int>]
    /// The wire format.
    public let compression: GradientCompression
    /// Whether buckets are sent during backward (true) or all after it (false).
    public let overlapsBackward: Bool
    /// `.sum` or `.average`.
    public let op: ReduceOp
    /// Whether the after-backward schedule runs on the communicator's `ProgressiveSum`.
    public var reducesProgressively: Bool { progressive != nil && progressiveEnabled }
    /// Benchmarks only: false sends the next steps with one plain sum after backward although a
    /// progressive sum exists. Change it between steps, identically on every rank.
    public var progressiveEnabled = true
    /// The after-backward transport where there is one (see the type's comment).
    private let progressive: (any ProgressiveSum)?

    private let comm: any Communicator
    private let base: UnsafeMutablePointer<Float>
    private let count: Int
    /// The bfloat16 side buffer (`count` elements) when compressing.
    private let wire: UnsafeMutablePointer<BFloat16>?
    private var requests: [CommRequest] = []
    /// The bucket each request in `requests` reduces, in launch order.
    private var launchOrder: [Int] = []
    /// Per bucket: elements not yet reported ready this step; 0 once launched (buckets are never
    /// empty, so 0 means launched).
    private var pending: [Int]
    /// When each bucket of the current step was handed over (uptime ns), for `onBucketFinished`.
    private var launchedAt: [UInt64]

    /// Called by `finish()` once per bucket, in sending order, with the bucket's index and range, when
    /// it was handed to the transport, and when the transport started and finished running it (uptime
    /// nanoseconds, `CommRequest`'s clock). For timelines; nil costs nothing.
    public var onBucketFinished: ((_ index: Int, _ range: Range<Int>, _ launched: UInt64, _ started: UInt64, _ finished: UInt64) -> Void)?

    /// An allreducer over `count` Floats at `buffer`, in buckets of about `bucketElements`, cut at
    /// each offset in `boundaries` too.
    public init(comm: any Communicator, buffer: UnsafeMutablePointer<Float>, count: Int, bucketElements: Int,
                boundaries: [Int] = [], compression: GradientCompression = .none, overlapsBackward: Bool = true,
                op: ReduceOp = .average) throws {
        precondition(bucketElements > 0, "bucket size must be positive")
        precondition(op == .sum || op == .average, "gradients are summed or averaged, not \(op)")
        self.comm = comm
        self.compression = compression
        self.overlapsBackward = overlapsBackward
        self.op = op
        self.count = count
        base = buffer
        var ranges: [Range<Int>] = []
        var upper = count
        while upper > 0 {
            let cut = boundaries.filter { $0 > 0 && $0 < upper }.max() ?? 0
            let lower = max(cut, upper - bucketElements)
            ranges.append(lower..<upper)
            upper = lower
        }
        buckets = ranges
        pending = ranges.map(\.count)
        launchedAt = [UInt64](repeating: 0, count: ranges.count)
        requests.reserveCapacity(ranges.count)
        launchOrder.reserveCapacity(ranges.count)
        if compression == .bf16 {
            wire = try AllocationError.allocate(filling: BFloat16(bitPattern: 0), count: count)
        } else {
            wire = nil
        }
        progressive = !overlapsBackward && compression == .none && op == .sum && comm.size > 1
            ? try comm.makeProgressiveSum(buffer, count: count) : nil
    }

    deinit { free(wire) }

    /// Starts a new step: nothing is ready, nothing is in flight.
    public func begin() {
        precondition(requests.isEmpty, "begin() while a previous step is still in flight; call finish() first")
        for i in buckets.indices { pending[i] = buckets[i].count }
        if progressiveEnabled { progressive?.begin() }
    }

    /// Reports that the gradients in `range` are final; launches, highest offset first, every bucket
    /// that this completes (overlapped schedule only). No element may be reported twice in a step.
    public func markReady(_ range: Range<Int>) {
        if let progressive, progressiveEnabled { return progressive.markReady(range) }
        guard overlapsBackward else { return }
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "ready range \(range) outside 0..<\(count)")
        for i in buckets.indices {
            let overlap = min(range.upperBound, buckets[i].upperBound) - max(range.lowerBound, buckets[i].lowerBound)
            guard overlap > 0 else { continue }
            precondition(overlap <= pending[i], "gradient range \(range) reported ready twice in one step")
            pending[i] -= overlap
            if pending[i] == 0 { launch(i) }
        }
    }

    /// Reduces (or finishes reducing) every bucket and reports the step's timing. After it returns the
    /// buffer holds the reduced gradients on every rank. On failure every launched bucket has still
    /// been waited for (the buffers are free again) before the first error is thrown.
    public func finish() throws -> Timing {
        let start = DispatchTime.now().uptimeNanoseconds
        var timing = Timing()
        if overlapsBackward {
            for i in buckets.indices where pending[i] > 0 { launch(i) }
            defer {
                requests.removeAll(keepingCapacity: true)
                launchOrder.removeAll(keepingCapacity: true)
            }
            var firstError: Error?
            for (k, request) in requests.enumerated() {
                let index = launchOrder[k]
                do { try request.wait() } catch {
                    if firstError == nil { firstError = error }
                    continue
                }
                timing.communicationSeconds += request.busySeconds
                if firstError == nil { unpack(index) }
                if let onBucketFinished, let started = request.startedAt, let finished = request.finishedAt {
                    onBucketFinished(index, buckets[index], launchedAt[index], started, finished)
                }
            }
            if let firstError { throw firstError }
        } else if let progressive, progressiveEnabled {
            let callStart = DispatchTime.now().uptimeNanoseconds
            let work = try progressive.finish()
            timing.communicationSeconds = work.busySeconds
            onBucketFinished?(0, 0..<count, callStart, callStart, DispatchTime.now().uptimeNanoseconds)
        } else {
            for index in buckets.indices {
                let r = buckets[index]
                let callStart = DispatchTime.now().uptimeNanoseconds
                if let wire {
                    BFloat16.convert(base + r.lowerBound, to: wire + r.lowerBound, count: r.count)
                    try comm.allreduce(UnsafeMutableBufferPointer(start: wire + r.lowerBound, count: r.count), op: .sum)
                } else {
                    try comm.allreduce(UnsafeMutableBufferPointer(start: base + r.lowerBound, count: r.count), op: op)
                }
                let callEnd = DispatchTime.now().uptimeNanoseconds
                timing.communicationSeconds += Double(callEnd - callStart) / 1e9
                unpack(index)
                onBucketFinished?(index, r, callStart, callStart, callEnd)
            }
        }
        timing.buckets = buckets.count
        timing.bytes = count * compression.bytesPerElement
        timing.exposedSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return timing
    }

    /// Hands bucket `index` to the communication thread (rounding it to bfloat16 first if compressing).
    private func launch(_ index: Int) {
        let r = buckets[index]
        pending[index] = 0
        launchOrder.append(index)
        launchedAt[index] = DispatchTime.now().uptimeNanoseconds
        if let wire {
            BFloat16.convert(base + r.lowerBound, to: wire + r.lowerBound, count: r.count)
            requests.append(comm.allreduceAsync(UnsafeMutableBufferPointer(start: wire + r.lowerBound, count: r.count), op: .sum))
        } else {
            requests.append(comm.allreduceAsync(UnsafeMutableBufferPointer(start: base + r.lowerBound, count: r.count), op: op))
        }
    }

    /// Widens a reduced bfloat16 bucket back into the gradient (dividing by the rank count for
    /// `.average`); nothing to do for uncompressed buckets, which were reduced in place.
    private func unpack(_ index: Int) {
        guard let wire else { return }
        let r = buckets[index]
        BFloat16.widen(wire + r.lowerBound, to: base + r.lowerBound, count: r.count,
                       dividingBy: op == .average ? Float(comm.size) : 1)
    }
}
