import Support

/// A plotting problem, phrased for the user: names the file and the fix.
public struct PlotError: UserFacingError, CustomStringConvertible {
    /// One line: what is wrong and how to fix it.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    /// Status 2: the run directory or the flags named something that cannot be plotted.
    public var exitCode: Int32 { 2 }
}
