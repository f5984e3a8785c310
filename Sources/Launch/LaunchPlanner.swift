import Config

/// Builds the launch plan for a run: the mpirun (or srun) command line that starts every rank.
///
/// Pure logic over a `RunConfig`, the user's `LaunchOptions` and a `LaunchEnvironment`: nothing is
/// started or read here except the hostfile. The decisions, in order:
/// 1. `distributed_type: NO` runs `pretrain train` directly (one process, all cores).
/// 2. Inside a Slurm allocation the allocation decides ranks and nodes: mpirun reads its nodes itself
///    (or srun starts the ranks with `--launcher srun`); `threads_per_process: 0` takes
///    `--cpus-per-task`.
/// 3. With `mpirun_config.mpirun_hostfile` the ranks go to the hostfile's machines (`--hostfile`,
///    `--npernode` when the ranks divide evenly), checked against its slots.
/// 4. Otherwise all ranks run on this machine.
/// Binding follows `enable_cpu_affinity` and the threads per rank (`--bind-to none` when off, so that
/// OpenMPI's default one-core binding does not silently cap a rank at one thread); `-x` passes the
/// thread counts, `OPENBLAS_CORETYPE` and the user's `PRETRAIN_*` settings; `--mca` adds the
/// project's MPI tuning; `--allow-run-as-root` appears only for root.
public enum LaunchPlanner {
    /// Variables the ranks need that mpirun would not pass to other machines by itself.
    static let forwardedNames: Set<String> = ["OPENBLAS_CORETYPE", "LD_LIBRARY_PATH"]
    /// Marks a process that re-executed itself for OpenBLAS; each rank decides that for itself.
    static let privateNames: Set<String> = ["PRETRAIN_BLAS_REEXEC"]

    /// The plan for `config` launched with `options` from `environment`.
    public static func plan(config: RunConfig, options: LaunchOptions, environment: LaunchEnvironment) throws -> LaunchPlan {
        var notices: [String] = []
        let launch = config.launch
        try refuseNesting(environment)
        if launch.machineRank != 0 {
            notices.append("notice: machine_rank \(launch.machineRank) is ignored: `pretrain launch` starts the ranks of every machine from one place; run it once, on the first machine")
        }
        if launch.distributedType == "NO" {
            return direct(config: config, options: options, environment: environment, notices: notices)
        }
        if let slurm = environment.slurm {
            return try inSlurm(slurm, config: config, options: options, environment: environment, notices: notices)
        }
        if options.launcher == .srun {
            throw LaunchError("--launcher srun needs a Slurm allocation (no SLURM_JOB_ID here); submit cluster/slurm.sbatch with sbatch, or use --launcher mpirun")
        }
        let mpirun = try findMpirun(options, environment)
        if !launch.mpirunHostfile.isEmpty {
            return try acrossMachines(config: config, options: options, environment: environment, mpirun: mpirun, notices: notices)
        }
        return try oneMachine(config: config, options: options, environment: environment, mpirun: mpirun, notices: notices)
    }

    /// `sbatch` options that give the run its ranks, machines and cores (`pretrain launch --sbatch-options`).
    public static func sbatchOptions(config: RunConfig) -> [String] {
        let launch = config.launch
        let ranks = launch.distributedType == "NO" ? 1 : launch.numProcesses
        let machines = launch.distributedType == "NO" ? 1 : launch.numMachines
        var options = ["--nodes=\(machines)", "--ntasks=\(ranks)"]
        if ranks % machines == 0 { options.append("--ntasks-per-node=\(ranks / machines)") }
        if launch.threadsPerProcess > 0 { options.append("--cpus-per-task=\(launch.threadsPerProcess)") }
        return options
    }

    // MARK: - The four cases

    static func direct(config: RunConfig, options: LaunchOptions, environment env: LaunchEnvironment, notices: [String]) -> LaunchPlan {
        let threads = config.launch.threadsPerProcess > 0 ? config.launch.threadsPerProcess : env.logicalCores
        let rank = rankArguments(options, extraOverrides: [])
        return LaunchPlan(kind: .direct, executable: env.executable, displayName: env.executable, arguments: rank,
                          environment: threadVariables(threads), worldSize: 1, threadsPerProcess: threads, notices: notices)
    }

    static func inSlurm(_ slurm: SlurmAllocation, config: RunConfig, options: LaunchOptions, environment env: LaunchEnvironment,
                        notices: [String]) throws -> LaunchPlan {
        var notices = notices
        let launch = config.launch
        if !launch.mpirunHostfile.isEmpty {
            notices.append("notice: inside Slurm job \(slurm.jobID) the allocation's nodes are used; mpirun_config.mpirun_hostfile \(launch.mpirunHostfile) is ignored")
        }
        let world = slurm.totalTasks ?? launch.numProcesses
        var extra: [String] = []
        if world != launch.numProcesses {
            notices.append("notice: Slurm job \(slurm.jobID) has \(world) tasks; running \(world) ranks instead of num_processes \(launch.numProcesses)")
            do { _ = try ConfigLoader.accumulationSteps(config, worldSize: world, origin: options.configPath) } catch let error as ConfigError {
                throw LaunchError(error.message + " (the Slurm allocation has \(world) tasks; submit with `sbatch $(pretrain launch --config \(options.configPath) --sbatch-options) …` to match the config)")
            }
            extra.append("num_processes=\(world)")
        }
        let threads = launch.threadsPerProcess > 0 ? launch.threadsPerProcess
            : slurm.cpusPerTask ?? (slurm.nodes == 1 ? max(1, env.logicalCores / world) : nil)
        let mpirunPath = env.findProgram(options.mpirunProgram)
        let useSrun = options.launcher == .srun || (options.launcher == .auto && mpirunPath == nil && env.findProgram("srun") != nil)
        let rank = rankArguments(options, extraOverrides: extra)
        if useSrun {
            guard let srun = env.findProgram("srun") else {
                throw LaunchError("srun not found on PATH inside Slurm job \(slurm.jobID); add Slurm's bin directory to PATH or use --launcher mpirun")
            }
            var args = ["--mpi=pmix", "--kill-on-bad-exit=1", "-n", "\(world)"]
            if let threads, slurm.cpusPerTask == nil { args.append("--cpus-per-task=\(threads)") }
            args.append(launch.enableCPUAffinity ? "--cpu-bind=cores" : "--cpu-bind=none")
            var variables = threadVariables(threads)
            for setting in options.mpiTuning where env.variables[setting.name] == nil {
                variables.append(.init(setting.name, setting.value))
            }
            return LaunchPlan(kind: .srun, executable: srun, displayName: displayName("srun", srun), arguments: args + [env.executable] + rank,
                              environment: variables, worldSize: world, threadsPerProcess: threads, notices: notices)
        }
        guard let mpirunPath else { throw noMpirun(options) }
        var args = ["-n", "\(world)"]
        args += binding(config: config, threads: threads, cores: nil, hwthreads: false, notices: &notices)
        args += commonMpirunFlags(config: config, options: options, environment: env, threads: threads)
        return LaunchPlan(kind: .mpirun, executable: mpirunPath, displayName: displayName(options.mpirunProgram, mpirunPath),
                          arguments: args + [env.executable] + rank, environment: [], worldSize: world,
                          threadsPerProcess: threads, notices: notices)
    }

    static func acrossMachines(config: RunConfig, options: LaunchOptions, environment env: LaunchEnvironment, mpirun: String,
                               notices: [String]) throws -> LaunchPlan {
        var notices = notices
        let launch = config.launch
        let hostfile = try Hostfile.load(path: launch.mpirunHostfile)
        let hosts = hostfile.entries.count
        guard hosts == launch.numMachines else {
            throw LaunchError("\(options.configPath): num_machines is \(launch.numMachines) but hostfile \(hostfile.path) names \(hosts) machine\(hosts == 1 ? "" : "s"); set num_machines: \(hosts) or list \(launch.numMachines) machines in the hostfile")
        }
        let world = launch.numProcesses
        var args = ["-n", "\(world)", "--hostfile", hostfile.path]
        if world > hostfile.totalSlots {
            guard options.oversubscribe else {
                throw LaunchError("\(options.configPath): num_processes \(world) is more than the \(hostfile.totalSlots) slots in hostfile \(hostfile.path); lower num_processes, raise slots= in the hostfile, or pass --oversubscribe")
            }
            args.append("--oversubscribe")
        }
        if hosts > 1, world % hosts == 0, hostfile.entries.allSatisfy({ $0.slots >= world / hosts }) {
            args += ["--npernode", "\(world / hosts)"]
        }
        args += ["--wdir", env.workingDirectory]
        let threads = launch.threadsPerProcess > 0 ? launch.threadsPerProcess : nil
        args += binding(config: config, threads: threads, cores: nil, hwthreads: false, notices: &notices)
        args += commonMpirunFlags(config: config, options: options, environment: env, threads: threads)
        return LaunchPlan(kind: .mpirun, executable: mpirun, displayName: displayName(options.mpirunProgram, mpirun),
                          arguments: args + [env.executable] + rankArguments(options, extraOverrides: []), environment: [],
                          worldSize: world, threadsPerProcess: threads, notices: notices)
    }

    static func oneMachine(config: RunConfig, options: LaunchOptions, environment env: LaunchEnvironment, mpirun: String,
                           notices: [String]) throws -> LaunchPlan {
        var notices = notices
        let launch = config.launch
        guard launch.numMachines == 1 else {
            throw LaunchError("\(options.configPath): num_machines is \(launch.numMachines) but no hostfile is set; set mpirun_config.mpirun_hostfile (see cluster/hostfile.example) or run inside a Slurm allocation (cluster/slurm.sbatch)")
        }
        let world = launch.numProcesses
        var args = ["-n", "\(world)"]
        var hwthreads = false
        if world > env.logicalCores {
            notices.append("notice: \(world) ranks on \(env.logicalCores) cores: oversubscribed (ranks share cores and yield while they wait; expect lower throughput)")
            args.append("--oversubscribe")
        } else if world > env.physicalCores {
            args.append("--use-hwthread-cpus")  // mpirun counts physical cores as slots; hardware threads are enough here
            hwthreads = true
        } else if options.oversubscribe {
            args.append("--oversubscribe")
        }
        let threads = launch.threadsPerProcess > 0 ? launch.threadsPerProcess : max(1, env.logicalCores / world)
        if world * threads > env.logicalCores, launch.threadsPerProcess > 0 {
            notices.append("notice: \(world) ranks × \(threads) threads = \(world * threads) threads on \(env.logicalCores) cores; lower threads_per_process to \(max(1, env.logicalCores / world)) to stop them competing")
        }
        args += binding(config: config, threads: threads, cores: hwthreads ? env.logicalCores : env.physicalCores,
                        hwthreads: hwthreads, notices: &notices)
        args += commonMpirunFlags(config: config, options: options, environment: env, threads: threads)
        return LaunchPlan(kind: .mpirun, executable: mpirun, displayName: displayName(options.mpirunProgram, mpirun),
                          arguments: args + [env.executable] + rankArguments(options, extraOverrides: []), environment: [],
                          worldSize: world, threadsPerProcess: threads, notices: notices)
    }

    // MARK: - Pieces

    /// `pretrain launch` started once per rank (under mpirun or a multi-task srun) would start a whole
    /// job per rank: say what to run instead.
    static func refuseNesting(_ env: LaunchEnvironment) throws {
        let mpiRanks = env.variables["OMPI_COMM_WORLD_SIZE"].flatMap { Int($0) } ?? 0
        let stepTasks = env.variables["SLURM_STEP_NUM_TASKS"].flatMap { Int($0) } ?? 0
        guard mpiRanks > 1 || stepTasks > 1 else { return }
        throw LaunchError("pretrain launch is running as one of \(max(mpiRanks, stepTasks)) tasks of \(mpiRanks > 1 ? "mpirun" : "srun"); it starts the ranks itself, so run it once (e.g. in the batch script), or run `pretrain train` under your own launcher")
    }

    /// `train --config FILE --set …` (or the user's rank command), plus overrides the plan adds.
    static func rankArguments(_ options: LaunchOptions, extraOverrides: [String]) -> [String] {
        if !options.rankCommand.isEmpty { return options.rankCommand }
        return ["train", "--config", options.configPath] + (options.overrides + extraOverrides).flatMap { ["--set", $0] } + options.trainArguments
    }

    /// mpirun's mapping and binding flags for `threads` per rank. `cores` is the number of cores to bind
    /// to when known (one machine); binding needs every rank's cores to fit.
    static func binding(config: RunConfig, threads: Int?, cores: Int?, hwthreads: Bool, notices: inout [String]) -> [String] {
        var flags: [String] = []
        if config.launch.enableCPUAffinity {
            if let threads, cores.map({ config.launch.numProcesses * threads <= $0 }) ?? true {
                let unit = hwthreads ? "hwthread" : "core"
                flags = threads == 1 ? ["--map-by", unit, "--bind-to", unit] : ["--map-by", "slot:PE=\(threads)", "--bind-to", unit]
            } else if let threads, let cores {
                notices.append("notice: enable_cpu_affinity: \(config.launch.numProcesses) ranks × \(threads) threads do not fit on \(cores) cores; not binding")
            } else {
                notices.append("notice: enable_cpu_affinity needs threads_per_process > 0 when the ranks span machines; not binding")
            }
        }
        if flags.isEmpty { flags = ["--bind-to", "none"] }
        if config.launch.debug { flags.append("--report-bindings") }
        return flags
    }

    /// Root consent, `-x` variables and the MPI tuning, shared by every mpirun plan.
    static func commonMpirunFlags(config: RunConfig, options: LaunchOptions, environment env: LaunchEnvironment, threads: Int?) -> [String] {
        var flags: [String] = []
        if env.isRoot { flags.append("--allow-run-as-root") }
        var exported = threadVariables(threads)
        let taken = Set(exported.map(\.name))
        let user = env.variables.keys.filter { name in
            !taken.contains(name) && !privateNames.contains(name)
                && (forwardedNames.contains(name) || name.hasPrefix("PRETRAIN_")
                    || (threads == nil && (name == "OMP_NUM_THREADS" || name == "OPENBLAS_NUM_THREADS")))
        }
        exported += user.sorted().map { LaunchPlan.EnvironmentVariable($0, env.variables[$0]!) }
        for variable in exported.sorted(by: { $0.name < $1.name }) { flags += ["-x", "\(variable.name)=\(variable.value)"] }
        for setting in options.mpiTuning where env.variables[setting.name] == nil && setting.name.hasPrefix("OMPI_MCA_") {
            flags += ["--mca", String(setting.name.dropFirst("OMPI_MCA_".count)), setting.value]
        }
        return flags
    }

    /// `OMP_NUM_THREADS` and `OPENBLAS_NUM_THREADS` for `threads` (none when each host decides).
    static func threadVariables(_ threads: Int?) -> [LaunchPlan.EnvironmentVariable] {
        guard let threads else { return [] }
        return [.init("OMP_NUM_THREADS", "\(threads)"), .init("OPENBLAS_NUM_THREADS", "\(threads)")]
    }

    static func findMpirun(_ options: LaunchOptions, _ env: LaunchEnvironment) throws -> String {
        guard let path = env.findProgram(options.mpirunProgram) else { throw noMpirun(options) }
        return path
    }

    static func noMpirun(_ options: LaunchOptions) -> LaunchError {
        if options.mpirunProgram.contains("/") {
            return LaunchError("--mpirun \(options.mpirunProgram): no such executable; give the path of OpenMPI's mpirun")
        }
        return LaunchError("\(options.mpirunProgram) not found on PATH; install OpenMPI (`sudo apt-get install openmpi-bin`) or add its bin directory to PATH, or train in one process with --set distributed_type=NO --set num_processes=1")
    }

    /// The name to show: what the user typed when it was looked up on PATH, else the path.
    static func displayName(_ requested: String, _ resolved: String) -> String {
        requested.contains("/") ? resolved : requested
    }
}
