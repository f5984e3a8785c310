import ArgumentParser
import Distributed

/// Runs a command's work on this process's MPI communicator (one rank, or one of mpirun's ranks) and
/// shuts MPI down afterwards, failure or not.
///
/// A failure is reported by the launcher's rank 0 only; other ranks exit with status 2 silently, so
/// the job prints its one error line once, not once per rank.
func runUnderMPI(_ body: (any Communicator) throws -> Void) throws {
    let launcherRank = MPILibrary.launcherLayout?.rank ?? 0
    let comm: MPICommunicator
    do { comm = try MPICommunicator() } catch { throw CLIError("cannot start MPI: \(error)") }
    do {
        try body(comm)
        try comm.shutdown()
    } catch {
        try? comm.shutdown()
        if launcherRank == 0 { throw error }
        throw ExitCode(2)
    }
}
