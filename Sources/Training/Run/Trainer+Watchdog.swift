import Config
import Distributed
import Foundation

extension Trainer {
    /// `comm` behind a stall watchdog when there are several ranks, or `comm` itself (one rank: nothing
    /// can stall).
    ///
    /// Each rank writes a heartbeat under `<logging.run_dir>/heartbeat`, so that a report can name the
    /// rank that stopped. `onStall` runs on the watchdog's thread with the report; it is expected to
    /// say so and end the job (the CLI prints one line and calls `MPI_Abort` with status 4).
    public static func watched(_ comm: any Communicator, config: RunConfig,
                               onStall: @escaping @Sendable (StallReport) -> Void) throws -> any Communicator {
        guard comm.size > 1 else { return comm }
        let directory = config.logging.runDir + "/heartbeat"
        let heartbeat: HeartbeatFile
        do {
            heartbeat = try HeartbeatFile(directory: directory, rank: comm.rank, jobToken: HeartbeatFile.launcherJobToken())
        } catch {
            throw TrainingError("cannot write \(directory): \(error.localizedDescription); check logging.run_dir")
        }
        return WatchdogCommunicator(wrapping: comm, timeout: config.training.watchdogSeconds, heartbeat: heartbeat, onStall: onStall)
    }
}
