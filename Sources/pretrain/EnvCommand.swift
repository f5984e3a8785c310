import ArgumentParser
import Checkpoint
import Distributed
import Foundation
import Kernels

/// `pretrain env`: what this machine and build look like, for bug reports.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print versions, CPU, memory, BLAS and MPI layout (paste it into bug reports).")

    func run() throws {
        let cpu = CPUInfo.host
        let info = ProcessInfo.processInfo
        var rows: [(String, String)] = []
        #if compiler(>=6.3)
        rows.append(("swift", "6.3 or newer"))
        #elseif compiler(>=6.0)
        rows.append(("swift", "6.x"))
        #endif
        rows.append(("os", info.operatingSystemVersionString))
        rows.append(("cpu", "\(cpu.modelName), \(cpu.cores) cores"
            + (cpu.hasAVX512 ? ", AVX-512" : cpu.hasAVX2FMA ? ", AVX2+FMA" : "")))
        rows.append(("memory", String(format: "%.1f GiB", Double(info.physicalMemory) / 1_073_741_824)))
        rows.append(("openblas", BLASRuntime.config))
        let override = info.environment["OPENBLAS_CORETYPE"]
        rows.append(("openblas core", BLASRuntime.coreName
            + (override.map { " (OPENBLAS_CORETYPE=\($0))" } ?? " (detected)")))
        rows.append(("openblas threads", "\(BLASRuntime.threads)"))
        rows.append(("mpi", MPILibrary.version))
        if let layout = MPILibrary.launcherLayout {
            rows.append(("mpi layout", "rank \(layout.rank) of \(layout.size), local rank \(layout.localRank) of \(layout.localSize)"))
        } else {
            rows.append(("mpi layout", "single process (not started by mpirun/srun)"))
        }
        rows.append(("zstd", ZstdLibrary.version))
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
    }
}
