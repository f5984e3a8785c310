import Support

/// A benchmark that cannot run as asked: one line naming what was wrong and how to fix it.
public struct BenchmarkError: UserFacingError {
    public let message: String
    /// 2, as the command line's own usage errors.
    public var exitCode: Int32 = 2
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
