import Support

/// Why a communicator operation failed; every case names the operation and says what to do.
public enum CommunicatorError: UserFacingError, CustomStringConvertible, Equatable, Sendable {
    /// The one-line message (`description`).
    public var message: String { description }

    /// An MPI call returned an error code: `call` is the MPI function (e.g. "MPI_Bcast"), `message`
    /// is `MPI_Error_string`'s text for `code` (e.g. "MPI_ERR_ROOT: invalid root").
    case mpi(call: String, code: Int32, message: String)
    /// The arguments cannot work (wrong buffer length, root out of range, ranks disagreeing);
    /// `message` says which and how to fix it.
    case invalidArgument(operation: String, message: String)
    /// The operation is not defined for the element type (e.g. average of integers).
    case unsupported(operation: String, message: String)
    /// The MPI library granted less thread support than the communication thread needs.
    case insufficientThreadSupport(granted: String, required: String)
    /// The communicator was shut down before (or while) the operation was issued.
    case shutDown(operation: String)
    /// MPI cannot be started (or restarted) in this process, e.g. a second `MPICommunicator`.
    case lifecycle(message: String)
    /// Another rank of an in-process group failed, so this rank's collective cannot complete.
    case aborted(operation: String, reason: String)

    /// The operation or MPI call the error is about, when there is one.
    public var operation: String? {
        switch self {
        case .mpi(let call, _, _): return call
        case .invalidArgument(let op, _), .unsupported(let op, _), .shutDown(let op), .aborted(let op, _):
            return op
        case .insufficientThreadSupport: return "MPI_Init_thread"
        case .lifecycle: return nil
        }
    }

    /// One line: what failed, why, and a hint where there is one.
    public var description: String {
        switch self {
        case .mpi(let call, let code, let message):
            return "\(call) failed: \(message) (MPI error code \(code))"
        case .invalidArgument(let op, let message):
            return "\(op): invalid argument: \(message)"
        case .unsupported(let op, let message):
            return "\(op): unsupported: \(message)"
        case .insufficientThreadSupport(let granted, let required):
            return "MPI_Init_thread granted \(granted) but the communication thread needs at least "
                + "\(required); use an MPI library built with thread support (OpenMPI: any 4.x package)"
        case .shutDown(let op):
            return "\(op): the communicator was shut down; issue collectives before calling shutdown()"
        case .lifecycle(let message):
            return message
        case .aborted(let op, let reason):
            return "\(op): aborted because another rank failed: \(reason)"
        }
    }
}
