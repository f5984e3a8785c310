import CMPI
import Foundation

/// The process-wide MPI state: one initialization, one finalization, and the single function through
/// which every MPI return code passes (`check`).
enum MPIRuntime {
    /// Where the process is in MPI's one-way life cycle.
    enum Phase {
        case idle
        /// Initialized; `ownsInit` is false when someone else called `MPI_Init` before us.
        case running(ownsInit: Bool)
        case finalized
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var phase = Phase.idle

    /// Turns an MPI return code into a thrown `CommunicatorError.mpi` naming `call` and carrying
    /// `MPI_Error_string`'s text. Every MPI call in this module goes through here.
    static func check(_ code: Int32, _ call: StaticString) throws {
        guard code != MPI_SUCCESS else { return }
        throw CommunicatorError.mpi(call: "\(call)", code: code, message: errorString(code))
    }

    /// `MPI_Error_string`'s text for `code` (works before init and after finalize). The one MPI call
    /// whose return code does not go through `check`, which calls it.
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "unknown MPI error" }
        return String(cString: buffer)
    }

    /// The name of an MPI thread-support level, e.g. "MPI_THREAD_MULTIPLE".
    static func threadLevelName(_ level: Int32) -> String {
        switch level {
        case Int32(MPI_THREAD_SINGLE): return "MPI_THREAD_SINGLE"
        case Int32(MPI_THREAD_FUNNELED): return "MPI_THREAD_FUNNELED"
        case Int32(MPI_THREAD_SERIALIZED): return "MPI_THREAD_SERIALIZED"
        case Int32(MPI_THREAD_MULTIPLE): return "MPI_THREAD_MULTIPLE"
        default: return "thread level \(level)"
        }
    }

    /// Initializes MPI requesting `MPI_THREAD_MULTIPLE` and returns the level granted; fails (after
    /// finalizing again) when less than `required` was granted. Throws `.lifecycle` when MPI is
    /// already in use by another communicator of this process or was finalized.
    static func initialize(required: Int32) throws -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        switch phase {
        case .running:
            throw CommunicatorError.lifecycle(message:
                "an MPICommunicator already exists in this process; create one and pass it around")
        case .finalized:
            throw CommunicatorError.lifecycle(message:
                "MPI was already finalized in this process and cannot be restarted (an MPI rule); "
                + "create the MPICommunicator once and shut it down at exit")
        case .idle:
            break
        }
        var initialized: Int32 = 0
        try check(MPI_Initialized(&initialized), "MPI_Initialized")
        var finalized: Int32 = 0
        try check(MPI_Finalized(&finalized), "MPI_Finalized")
        if finalized != 0 {
            throw CommunicatorError.lifecycle(message: "MPI was finalized by other code in this process")
        }
        var granted: Int32 = 0
        if initialized != 0 {
            try check(MPI_Query_thread(&granted), "MPI_Query_thread")
        } else {
            try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_MULTIPLE), &granted), "MPI_Init_thread")
        }
        phase = .running(ownsInit: initialized == 0)
        if granted < required {
            let error = CommunicatorError.insufficientThreadSupport(
                granted: threadLevelName(granted), required: threadLevelName(required))
            if initialized == 0 { try? finalizeLocked() }
            throw error
        }
        return granted
    }

    /// Calls `MPI_Finalize` if this module initialized MPI and has not finalized it yet; a no-op
    /// otherwise. Finalization happens at most once per process.
    static func finalize() throws {
        lock.lock()
        defer { lock.unlock() }
        try finalizeLocked()
    }

    private static func finalizeLocked() throws {
        guard case .running(let ownsInit) = phase else { return }
        phase = .finalized
        if ownsInit { try check(MPI_Finalize(), "MPI_Finalize") }
    }
}
