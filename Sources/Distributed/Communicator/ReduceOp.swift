/// How an allreduce or reduce-scatter combines the ranks' elements.
///
/// - `sum`: IEEE addition for floating point; wrapping (modulo 2^bits) addition for integers.
/// - `average`: the sum divided by the number of ranks (`x / Float(size)`, a true division, not a
///   multiplication by the reciprocal). Floating-point types only: an integer average would either
///   round or overflow silently, so communicators reject it with `CommunicatorError.unsupported`
///   before any communication happens. Reduce integer sums and divide yourself if you need one.
/// - `max`, `min`: element-wise maximum / minimum. With NaN inputs the result is unspecified.
public enum ReduceOp: String, Sendable, CaseIterable {
    /// Element-wise sum.
    case sum
    /// Element-wise sum divided by the number of ranks (floating point only).
    case average
    /// Element-wise maximum.
    case max
    /// Element-wise minimum.
    case min

    /// Whether `op` is defined for `type` (average needs floating point).
    public func supports(_ type: CommDataType) -> Bool {
        self != .average || type.isFloatingPoint
    }
}
