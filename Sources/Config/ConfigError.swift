import Support

/// A configuration problem: one line naming the file, the key and the fix.
public struct ConfigError: UserFacingError, CustomStringConvertible, Equatable {
    /// The whole message.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    /// Status 2: the config or the command line is wrong, as for any usage error.
    public var exitCode: Int32 { 2 }
}
