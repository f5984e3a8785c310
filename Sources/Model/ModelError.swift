import Support

/// A model configuration or weight-file problem, phrased for the user: names the field and the fix.
public struct ModelError: UserFacingError, CustomStringConvertible, Equatable {
    /// One line: what is wrong, with which field or file, and how to fix it.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
