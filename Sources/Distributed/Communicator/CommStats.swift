/// A snapshot of what an `InstrumentedCommunicator` was asked to do: calls and bytes per operation.
///
/// Bytes are those of the buffer this rank handed over: the whole buffer for broadcast and
/// allreduce, the send buffer for allgatherv and reduce-scatter, zero for barrier.
public struct CommStats: Sendable, Equatable {
    /// Calls issued, per operation (absent: zero).
    public var calls: [CommOperation: Int] = [:]
    /// Bytes handed over, per operation (absent: zero).
    public var bytes: [CommOperation: Int] = [:]

    /// Creates empty statistics.
    public init() {}

    /// Calls of `operation`.
    public func calls(_ operation: CommOperation) -> Int { calls[operation] ?? 0 }

    /// Bytes handed to `operation`.
    public func bytes(_ operation: CommOperation) -> Int { bytes[operation] ?? 0 }

    /// Calls of all operations together.
    public var totalCalls: Int { calls.values.reduce(0, +) }

    /// Bytes of all operations together.
    public var totalBytes: Int { bytes.values.reduce(0, +) }

    /// Adds one call of `operation` with `byteCount` bytes.
    mutating func record(_ operation: CommOperation, byteCount: Int) {
        calls[operation, default: 0] += 1
        bytes[operation, default: 0] += byteCount
    }
}
