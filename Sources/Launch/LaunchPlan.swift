/// The exact process `pretrain launch` starts: program, arguments and extra environment, with the
/// decisions behind them.
public struct LaunchPlan: Equatable, Sendable {
    /// How the ranks are started.
    public enum Kind: String, Equatable, Sendable {
        /// One process, no launcher (`distributed_type: NO`).
        case direct
        /// OpenMPI's mpirun.
        case mpirun
        /// Slurm's srun.
        case srun
    }

    /// How the ranks are started.
    public var kind: Kind
    /// The program to start, resolved to a path.
    public var executable: String
    /// The program as the command line shows it (`mpirun` when found on `PATH`).
    public var displayName: String
    /// Its arguments.
    public var arguments: [String]
    /// Variables set for the started program on top of the inherited environment, in display order.
    public var environment: [EnvironmentVariable]
    /// Ranks in the job.
    public var worldSize: Int
    /// Compute threads of each rank when decided here; nil when each host decides (cores ÷ local ranks).
    public var threadsPerProcess: Int?
    /// One line per decision the user should know about (printed to stderr before starting).
    public var notices: [String]

    /// One `NAME=value` pair.
    public struct EnvironmentVariable: Equatable, Sendable {
        /// The variable's name.
        public let name: String
        /// Its value.
        public let value: String
        public init(_ name: String, _ value: String) { self.name = name; self.value = value }
    }

    /// The command as a shell line (what `--dry-run` prints): environment first, then the program.
    public var commandLine: String {
        let env = environment.map { ShellWords.quote("\($0.name)=\($0.value)") }
        return (env + [ShellWords.join([displayName] + arguments)]).joined(separator: " ")
    }
}
