extension GradientAllreducer {
    /// Where one step's gradient synchronisation spent its time, and how much of it the step waited for.
    ///
    /// `communicationSeconds` is the transport's busy time: the sum, over buckets, of the interval in
    /// which the communication thread was running that bucket's allreduce (from `CommRequest`'s
    /// start/finish stamps; time a bucket spent queued behind another is not counted twice). In
    /// synchronous mode it is the summed duration of the blocking calls. `exposedSeconds` is the time
    /// the caller spent inside `finish()` (waiting, plus widening bfloat16 buckets back to `Float`):
    /// the part of the communication that was not hidden behind backward. With perfect overlap it
    /// approaches the last bucket's allreduce; without overlap it is all of it.
    public struct Timing: Sendable, Equatable {
        /// Seconds the transport spent running this step's bucket allreduces (overlapped or not).
        public var communicationSeconds: Double = 0
        /// Seconds the caller was blocked in `finish()`: communication not hidden behind compute.
        public var exposedSeconds: Double = 0
        /// Buckets sent this step.
        public var buckets = 0
        /// Bytes this rank handed to the transport this step (2 per element with bf16, 4 without).
        public var bytes = 0

        /// Zero time, nothing sent.
        public init() {}

        /// Algorithm bandwidth of the synchronisation in bytes per second (`bytes / communicationSeconds`),
        /// or 0 when nothing was timed.
        public var bytesPerSecond: Double {
            communicationSeconds > 0 ? Double(bytes) / communicationSeconds : 0
        }
    }
}
