import Checkpoint
import DataPipeline
import Model
import Support

/// A reason the run (or a command built on Training) stopped, phrased for the user: one line naming
/// the cause and the fix.
public struct TrainingError: UserFacingError, CustomStringConvertible {
    public let message: String
    /// 1 for a run that failed; 2 for input the user can fix before running again (a wrong checkpoint
    /// or tokenizer given to a command).
    public let exitCode: Int32
    public init(_ message: String, exitCode: Int32 = 1) { self.message = message; self.exitCode = exitCode }
    public var description: String { message }

    /// Runs `body`, turning the model's, the data pipeline's and the checkpoint's errors into a
    /// `TrainingError` with their message and `exitCode`.
    static func translating<T>(exitCode: Int32 = 1, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CheckpointError {
            throw TrainingError(e.message, exitCode: exitCode)
        } catch let e as ModelError {
            throw TrainingError(e.message, exitCode: exitCode)
        } catch let e as DataError {
            throw TrainingError("\(e)", exitCode: exitCode)
        }
    }
}
