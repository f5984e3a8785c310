/// What the user asked `pretrain launch` for, beyond the config itself.
public struct LaunchOptions: Equatable, Sendable {
    /// Which program starts the ranks.
    public enum Launcher: String, CaseIterable, Sendable {
        /// mpirun, or srun inside a Slurm allocation that has no mpirun.
        case auto
        /// OpenMPI's mpirun (inside Slurm it reads the allocation's nodes itself).
        case mpirun
        /// Slurm's srun with PMIx (only inside an allocation).
        case srun
    }

    /// The config file as the user named it (passed to every rank unchanged).
    public var configPath: String
    /// `--set key=value` overrides, passed to every rank.
    public var overrides: [String]
    /// The subcommand every rank runs; empty means `train --config FILE --set …`.
    public var rankCommand: [String]
    /// Extra arguments for the default `train` rank command (e.g. `--resume auto`).
    public var trainArguments: [String] = []
    /// Which launcher to use.
    public var launcher: Launcher
    /// Allow more ranks than slots.
    public var oversubscribe: Bool
    /// The mpirun program to use (a name looked up on `PATH`, or a path).
    public var mpirunProgram: String
    /// MPI settings the project recommends, as `OMPI_MCA_*` variables; each one the user has not set
    /// becomes an `--mca` flag (the ranks would apply them too; the flags make them visible).
    public var mpiTuning: [MPISetting]

    /// One `OMPI_MCA_*` variable and its value.
    public struct MPISetting: Equatable, Sendable {
        /// The variable's name.
        public let name: String
        /// Its value.
        public let value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public init(configPath: String, overrides: [String] = [], rankCommand: [String] = [], launcher: Launcher = .auto,
                oversubscribe: Bool = false, mpirunProgram: String = "mpirun", mpiTuning: [MPISetting] = []) {
        self.configPath = configPath
        self.overrides = overrides
        self.rankCommand = rankCommand
        self.launcher = launcher
        self.oversubscribe = oversubscribe
        self.mpirunProgram = mpirunProgram
        self.mpiTuning = mpiTuning
    }
}
