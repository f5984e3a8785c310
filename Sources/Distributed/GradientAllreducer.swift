import Foundation

/// Averages a flat gradient buffer across ranks in buckets, overlapping communication with backward.
///
/// Buckets are contiguous ranges of the buffer cut from its high end (the model's last layers, whose
/// gradients backward finishes first), each about `bucketElements` long; no copy into a fusion
/// buffer is made because every bucket is already contiguous. During backward the caller reports
/// finished ranges with `markReady` in decreasing offset order; the "ready watermark" is the lowest
/// offset above which everything is final, and each bucket entirely above it is handed to the
/// communicator's background thread at once. `finish()` hands over what is left and waits.
///
/// Knows only buffers: no model types, as Horovod's core.
public final class GradientAllreducer {
    /// Time spent on one step's synchronisation.
    public struct Timing: Sendable {
        /// Wall time from the first bucket's launch to the last bucket's completion (communication
        /// that ran, overlapped or not).
        public var communicationSeconds: Double = 0
        /// Time the caller spent blocked in `finish()`: communication not hidden behind compute.
        public var exposedSeconds: Double = 0
        /// Buckets sent.
        public var buckets = 0
        public init() {}
    }

    /// The bucket ranges, highest offsets first (the order they are sent).
    public let buckets: [Range<Int>]
    private let comm: any Communicator
    private let base: UnsafeMutablePointer<Float>
    private var requests: [CommRequest] = []
    private var nextBucket = 0
    private var watermark: Int
    private var firstLaunch: UInt64 = 0

    /// An allreducer over `count` Floats at `buffer`, in buckets of about `bucketElements`.
    public init(comm: any Communicator, buffer: UnsafeMutablePointer<Float>, count: Int, bucketElements: Int) {
        precondition(bucketElements > 0, "bucket size must be positive")
        self.comm = comm
        base = buffer
        var ranges: [Range<Int>] = []
        var upper = count
        while upper > 0 {
            let lower = max(0, upper - bucketElements)
            ranges.append(lower..<upper)
            upper = lower
        }
        buckets = ranges
        watermark = count
        requests.reserveCapacity(ranges.count)
    }

    /// Starts a new step: nothing is ready, nothing is in flight.
    public func begin() {
        precondition(requests.isEmpty, "begin() while a previous step is still in flight; call finish() first")
        nextBucket = 0
        watermark = buckets.first?.upperBound ?? 0
        firstLaunch = 0
    }

    /// Reports that the gradients in `range` are final; launches every bucket that is now complete.
    /// Ranges must arrive so that each one ends where the watermark stands or above it.
    public func markReady(_ range: Range<Int>) {
        if range.upperBound >= watermark { watermark = min(watermark, range.lowerBound) }
        while nextBucket < buckets.count, buckets[nextBucket].lowerBound >= watermark { launch(nextBucket) }
    }

    private func launch(_ index: Int) {
        let r = buckets[index]
        if firstLaunch == 0 { firstLaunch = DispatchTime.now().uptimeNanoseconds }
        requests.append(comm.allreduceAsync(UnsafeMutableBufferPointer(start: base + r.lowerBound, count: r.count), op: .average))
        nextBucket += 1
    }

    /// Launches the remaining buckets, waits for all of them, and reports the step's timing.
    public func finish() throws -> Timing {
        let waitStart = DispatchTime.now().uptimeNanoseconds
        while nextBucket < buckets.count { launch(nextBucket) }
        defer { requests.removeAll(keepingCapacity: true) }
        try CommRequest.waitAll(requests)
        let end = DispatchTime.now().uptimeNanoseconds
        var timing = Timing()
        timing.buckets = requests.count
        timing.exposedSeconds = Double(end - waitStart) / 1e9
        timing.communicationSeconds = Double(end - (firstLaunch == 0 ? waitStart : firstLaunch)) / 1e9
        return timing
    }
}
