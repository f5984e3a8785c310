import Support

/// A checkpoint problem, phrased for the user: one line naming the file or directory, what is wrong
/// and what to do about it.
public struct CheckpointError: UserFacingError, CustomStringConvertible {
    /// The one-line message.
    public let message: String
    /// An error with this message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
