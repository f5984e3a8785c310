import Support

/// A launch problem: one line naming the file, key or value and the fix.
public struct LaunchError: UserFacingError, CustomStringConvertible, Equatable {
    /// The whole message.
    public let message: String
    public init(_ message: String) { self.message = message }
    /// The message, for printing.
    public var description: String { message }
    /// Status 2: the config, the flags or the environment asked for something that cannot start.
    public var exitCode: Int32 { 2 }
}
