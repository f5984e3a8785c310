/// An error meant for the person at the keyboard: one line naming the file, key or value at fault and
/// the fix, and the exit status the command ends with.
///
/// Every module's error type (ModelError, DataError, ConfigError, CheckpointError, TrainingError, …)
/// conforms, so the command line prints any of them the same way and commands need not re-wrap them.
public protocol UserFacingError: Error, CustomStringConvertible {
    /// The one-line message, without a leading "error: ".
    var message: String { get }
    /// The status the process exits with: 1 unless the type says otherwise (the CLI's own usage
    /// errors say 2).
    var exitCode: Int32 { get }
}

extension UserFacingError {
    public var exitCode: Int32 { 1 }
}
