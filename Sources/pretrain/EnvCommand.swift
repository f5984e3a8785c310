import ArgumentParser
import BuildInfo
import Checkpoint
import Config
import Distributed
import Foundation
import Kernels
import Launch

/// `pretrain env`: what this machine and build look like, for bug reports.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print versions, CPU, memory, BLAS and MPI layout (paste it into bug reports).",
        discussion: """
        With --config (and --set) it also prints the launch command and the fully resolved config:
          pretrain env --config configs/tiny.yaml
        """.helpParagraphs)

    @Option(help: "A run config to resolve and show (optional).") var config: String?
    @Option(name: .customLong("set"), help: "Override a key of --config, e.g. --set optimizer.lr=3e-4 (repeatable).") var overrides: [String] = []

    func run() throws {
        if !overrides.isEmpty, config == nil { throw CLIError("--set needs --config FILE (the config to override)") }
        // Resolve first: a bad config is reported before anything else is printed.
        let resolved = try config.map { try loadConfig($0, overrides) }
        let cpu = CPUInfo.host
        let info = ProcessInfo.processInfo
        var rows: [(String, String)] = []
        rows.append(("pretrain", "\(BuildInfo.version), commit \(BuildInfo.commit)"))
        rows.append(("swift", BuildInfo.swiftVersion))
        rows.append(("os", info.operatingSystemVersionString))
        rows.append(("cpu", "\(cpu.modelName), \(cpu.cores) cores"
            + (cpu.hasAVX512 ? ", AVX-512" : cpu.hasAVX2FMA ? ", AVX2+FMA" : "")))
        rows.append(("memory", String(format: "%.1f GiB", Double(info.physicalMemory) / 1_073_741_824)))
        rows.append(("openblas", BLASRuntime.config))
        let override = info.environment["OPENBLAS_CORETYPE"]
        rows.append(("openblas core", BLASRuntime.coreName
            + (override.map { " (OPENBLAS_CORETYPE=\($0))" } ?? " (detected)")))
        rows.append(("openblas threads", "\(BLASRuntime.threads)"))
        rows.append(("bf16", BF16Matmul.environmentSummary()))
        rows.append(("mpi", MPILibrary.version))
        if let layout = MPILibrary.launcherLayout {
            rows.append(("mpi layout", "rank \(layout.rank) of \(layout.size), local rank \(layout.localRank) of \(layout.localSize)"))
        } else {
            rows.append(("mpi layout", "single process (not started by mpirun/srun)"))
        }
        rows.append(("zstd", ZstdLibrary.version))
        let launchEnvironment = LaunchEnvironment.current()
        rows.append(("mpirun", launchEnvironment.findProgram("mpirun") ?? "not found on PATH (apt-get install openmpi-bin)"))
        if let slurm = launchEnvironment.slurm {
            rows.append(("slurm", "job \(slurm.jobID): \(slurm.totalTasks.map { "\($0) tasks" } ?? "tasks unset") on \(slurm.nodes) node(s) \(slurm.nodeList)"))
        } else {
            rows.append(("slurm", launchEnvironment.findProgram("sbatch") == nil ? "not installed" : "installed; not inside an allocation"))
        }
        if let resolved, let path = config {
            let options = LaunchOptions(configPath: path, overrides: overrides,
                                        mpiTuning: MPICommunicator.recommendedEnvironment.map { .init(name: $0.name, value: $0.value) })
            do {
                rows.append(("launch", try LaunchPlanner.plan(config: resolved, options: options, environment: launchEnvironment).commandLine))
            } catch let error as LaunchError {
                rows.append(("launch", "cannot launch: \(error.message)"))
            }
        }
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value)
        }
        if let resolved, let path = config {
            print("\n# resolved config: \(path)\(overrides.map { " --set \($0)" }.joined())")
            print(ConfigLoader.render(resolved), terminator: "")
        }
    }
}
