import CMPI
import Foundation

/// Facts about the MPI library and the launcher, available before (and without) `MPI_Init`.
public enum MPILibrary {
    /// The library's own version string, e.g. "Open MPI v4.1.4, package: Debian OpenMPI, ...".
    public static var version: String {
        var buffer = [CChar](repeating: 0, count: Int(cmpi_max_library_version_string()) + 1)
        var length: Int32 = 0
        guard (try? MPIRuntime.check(MPI_Get_library_version(&buffer, &length), "MPI_Get_library_version")) != nil else {
            return "unknown"
        }
        let text = String(cString: buffer)
        return text.split(separator: "\n").first.map(String.init) ?? text
    }

    /// Rank layout as the launcher announced it in the environment (OpenMPI, Slurm, PMI), or nil when
    /// the process was started on its own.
    public static var launcherLayout: (rank: Int, size: Int, localRank: Int, localSize: Int)? {
        let env = ProcessInfo.processInfo.environment
        func int(_ keys: String...) -> Int? { keys.lazy.compactMap { env[$0].flatMap(Int.init) }.first }
        guard let rank = int("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"),
              let size = int("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS") else { return nil }
        let localRank = int("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID") ?? 0
        let localSize = int("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE") ?? 1
        return (rank, size, localRank, localSize)
    }
}
