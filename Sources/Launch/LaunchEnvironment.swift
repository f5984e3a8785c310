import Foundation

/// The facts about this machine and process that decide a launch plan, gathered in one value so that
/// plans can be built (and tested) for any machine without touching the real one.
public struct LaunchEnvironment: Equatable, Sendable {
    /// Environment variables of the launching process.
    public var variables: [String: String]
    /// Running as root (OpenMPI then wants `--allow-run-as-root`).
    public var isRoot: Bool
    /// Logical CPUs this process may use (hardware threads).
    public var logicalCores: Int
    /// Physical cores among them (mpirun's default slot count on one machine).
    public var physicalCores: Int
    /// Absolute path of the `pretrain` executable every rank runs.
    public var executable: String
    /// The working directory (ranks on other machines start there: it must exist at the same path).
    public var workingDirectory: String

    public init(variables: [String: String], isRoot: Bool, logicalCores: Int, physicalCores: Int,
                executable: String, workingDirectory: String) {
        self.variables = variables
        self.isRoot = isRoot
        self.logicalCores = max(1, logicalCores)
        self.physicalCores = max(1, min(physicalCores, logicalCores))
        self.executable = executable
        self.workingDirectory = workingDirectory
    }

    /// The real process and machine; `executable` defaults to this program made absolute.
    public static func current(executable: String? = nil) -> LaunchEnvironment {
        let info = ProcessInfo.processInfo
        let cwd = FileManager.default.currentDirectoryPath
        return LaunchEnvironment(
            variables: info.environment, isRoot: getuid() == 0,
            logicalCores: info.activeProcessorCount, physicalCores: physicalCoreCount() ?? info.activeProcessorCount,
            executable: executable ?? currentExecutable(workingDirectory: cwd), workingDirectory: cwd)
    }

    /// The Slurm allocation this process runs in, if any.
    public var slurm: SlurmAllocation? { SlurmAllocation(environment: variables) }

    /// The first executable called `name` on `PATH` (or `name` itself when it contains a slash).
    public func findProgram(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (variables["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// This program's path as started, made absolute against the working directory (symlinks kept,
    /// so `.build/release/pretrain` stays readable); `/proc/self/exe` when started through `PATH`.
    static func currentExecutable(workingDirectory: String) -> String {
        let arg0 = CommandLine.arguments.first ?? ""
        if arg0.hasPrefix("/") { return arg0 }
        if arg0.contains("/") {
            return URL(fileURLWithPath: workingDirectory).appendingPathComponent(arg0).standardized.path
        }
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        return arg0
    }

    /// Distinct (package, core) pairs in /proc/cpuinfo among the CPUs this process may use; nil off Linux.
    static func physicalCoreCount() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        var cores = Set<String>()
        var package = "0", core: String?
        var processors = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count < 2 {
                if let core { cores.insert(package + "/" + core) }
                core = nil
                continue
            }
            switch parts[0] {
            case "processor": processors += 1
            case "physical id": package = parts[1]
            case "core id": core = parts[1]
            default: break
            }
        }
        if let core { cores.insert(package + "/" + core) }
        guard !cores.isEmpty else { return processors > 0 ? processors : nil }
        // Under a CPU affinity mask only some hardware threads are ours; scale the count down with them.
        let logical = ProcessInfo.processInfo.activeProcessorCount
        return processors > logical ? max(1, cores.count * logical / processors) : cores.count
    }
}
