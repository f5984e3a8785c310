import Support

/// A reason the run stopped, phrased for the user: one line naming the cause and the fix.
public struct TrainingError: UserFacingError, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
