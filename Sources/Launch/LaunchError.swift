import Support

/// A launch problem: one line naming the file, key or value and the fix.
public struct LaunchError: UserFacingError, CustomStringConvertible, Equatable {
    /// The whole message.
    public let message: String
    public init(_ message: String) { self.message = message }
    /// The message, for printing.
    public var description: String { message }
}
