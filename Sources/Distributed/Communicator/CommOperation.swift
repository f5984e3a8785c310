/// The kinds of communicator calls that `InstrumentedCommunicator` counts.
public enum CommOperation: String, Sendable, CaseIterable {
    /// `barrier()`.
    case barrier
    /// `broadcast(_:root:)`.
    case broadcast
    /// Synchronous `allreduce(_:op:)`.
    case allreduce
    /// `allreduceAsync(_:op:)`.
    case allreduceAsync
    /// `allgatherv(_:into:counts:)`.
    case allgatherv
    /// `reduceScatter(_:into:counts:op:)`.
    case reduceScatter
}
