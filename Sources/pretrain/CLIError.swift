import Support

/// A command's own user-facing error: one line naming what was wrong and how to fix it.
struct CLIError: UserFacingError {
    let message: String
    var exitCode: Int32 = 2
    init(_ message: String, exitCode: Int32 = 2) { self.message = message; self.exitCode = exitCode }
    var description: String { message }
}
