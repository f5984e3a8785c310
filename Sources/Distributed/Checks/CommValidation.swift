/// Argument checks shared by every communicator, so that all of them reject the same mistakes with
/// the same messages before any communication starts.
enum CommValidation {
    /// Throws `.unsupported` when `op` is not defined for `type` (average of integers).
    static func check(op: ReduceOp, type: CommDataType, operation: String) throws {
        guard op.supports(type) else {
            throw CommunicatorError.unsupported(
                operation: operation,
                message: "average is defined for floating-point types only, not \(type.rawValue); "
                    + "allreduce with .sum and divide by size yourself")
        }
    }

    /// Throws `.invalidArgument` unless `root` is a rank of a group of `size`.
    static func check(root: Int, size: Int, operation: String) throws {
        guard (0..<size).contains(root) else {
            throw CommunicatorError.invalidArgument(
                operation: operation, message: "root \(root) is not a rank of this group (0..<\(size))")
        }
    }

    /// Checks per-rank counts (one non-negative entry per rank, each fitting MPI's 32-bit counts) and
    /// the two buffer lengths: `mine` must be `counts[rank]`, `total` must be the sum of all counts.
    /// `mineName`/`totalName` name the buffers in the message. Returns the sum.
    @discardableResult
    static func check(counts: [Int], size: Int, rank: Int, mine: Int, total: Int,
                      mineName: String, totalName: String, operation: String) throws -> Int {
        guard counts.count == size else {
            throw CommunicatorError.invalidArgument(
                operation: operation, message: "counts has \(counts.count) entries; pass one per rank (\(size))")
        }
        var sum = 0
        for (r, c) in counts.enumerated() {
            guard c >= 0, c <= Int(Int32.max) else {
                throw CommunicatorError.invalidArgument(
                    operation: operation, message: "counts[\(r)] = \(c) is outside 0...\(Int32.max)")
            }
            sum += c
        }
        guard sum <= Int(Int32.max) else {
            throw CommunicatorError.invalidArgument(
                operation: operation,
                message: "the counts add up to \(sum) elements, more than MPI's 32-bit displacements "
                    + "allow (\(Int32.max)); split the call")
        }
        guard mine == counts[rank] else {
            throw CommunicatorError.invalidArgument(
                operation: operation,
                message: "\(mineName) has \(mine) elements but counts[\(rank)] is \(counts[rank])")
        }
        guard total == sum else {
            throw CommunicatorError.invalidArgument(
                operation: operation, message: "\(totalName) has \(total) elements but the counts add up to \(sum)")
        }
        return sum
    }
}
