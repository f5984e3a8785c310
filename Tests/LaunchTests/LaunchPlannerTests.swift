import Config
import Launch
import TestSupport
import XCTest

final class LaunchPlannerTests: XCTestCase {
    static let tuning: [LaunchOptions.MPISetting] = [.init(name: "OMPI_MCA_pml", value: "ob1"),
                                                      .init(name: "OMPI_MCA_coll_tuned_allreduce_algorithm", value: "5")]
    static let tuningFlags = ["--mca", "pml", "ob1", "--mca", "coll_tuned_allreduce_algorithm", "5"]
    var bin = ""

    override func setUpWithError() throws {
        bin = try LaunchFixtures.temporaryDirectory("bin")
        for tool in ["mpirun", "srun"] { try LaunchFixtures.write("#!/bin/sh\nexit 0\n", to: bin, tool, executable: true) }
    }

    /// A machine with `cores` hardware threads (`physical` cores) where PATH holds `tools`.
    func machine(cores: Int = 8, physical: Int? = nil, root: Bool = false, tools: [String] = ["mpirun"],
                 variables: [String: String] = [:]) throws -> LaunchEnvironment {
        let dir = try LaunchFixtures.temporaryDirectory("path")
        for tool in tools { try FileManager.default.createSymbolicLink(atPath: dir + "/" + tool, withDestinationPath: bin + "/" + tool) }
        return LaunchEnvironment(variables: variables.merging(["PATH": dir]) { a, _ in a }, isRoot: root, logicalCores: cores,
                                 physicalCores: physical ?? cores, executable: "/opt/pretrain", workingDirectory: "/work/run")
    }

    func config(_ edit: (inout RunConfig) -> Void = { _ in }) -> RunConfig {
        var c = RunConfig()
        c.launch.numProcesses = 2
        c.training.globalBatch = 0
        edit(&c)
        return c
    }

    func plan(_ c: RunConfig, _ env: LaunchEnvironment, _ edit: (inout LaunchOptions) -> Void = { _ in }) throws -> LaunchPlan {
        var options = LaunchOptions(configPath: "run.yaml", mpiTuning: Self.tuning)
        edit(&options)
        return try LaunchPlanner.plan(config: c, options: options, environment: env)
    }

    func launchError(_ c: RunConfig, _ env: LaunchEnvironment, _ edit: (inout LaunchOptions) -> Void = { _ in }) -> String {
        do { _ = try plan(c, env, edit); return "no error" } catch { return (error as? LaunchError)?.message ?? "\(error)" }
    }

    // MARK: - One machine

    func testTwoRanksOnOneMachineSplitTheCoresAndDoNotBind() throws {
        let p = try plan(config(), try machine(cores: 8))
        XCTAssertEqual(p.kind, .mpirun)
        XCTAssertTrue(p.executable.hasSuffix("/mpirun"))
        XCTAssertEqual(p.displayName, "mpirun")
        XCTAssertEqual(p.arguments, ["-n", "2", "--bind-to", "none", "-x", "OMP_NUM_THREADS=4", "-x", "OPENBLAS_NUM_THREADS=4"]
                       + Self.tuningFlags + ["/opt/pretrain", "train", "--config", "run.yaml"])
        XCTAssertEqual(p.threadsPerProcess, 4)
        XCTAssertEqual(p.worldSize, 2)
        XCTAssertEqual(p.notices, [])
        XCTAssertEqual(p.commandLine, "mpirun -n 2 --bind-to none -x OMP_NUM_THREADS=4 -x OPENBLAS_NUM_THREADS=4 --mca pml ob1 --mca coll_tuned_allreduce_algorithm 5 /opt/pretrain train --config run.yaml")
    }

    func testRootAddsItsConsentFlagOnlyForRoot() throws {
        XCTAssertTrue(try plan(config(), try machine(root: true)).arguments.contains("--allow-run-as-root"))
        XCTAssertFalse(try plan(config(), try machine(root: false)).arguments.contains("--allow-run-as-root"))
    }

    func testOverridesAndRankCommandReachEveryRankQuotedForTheShell() throws {
        let p = try plan(config(), try machine()) { $0.overrides = ["optimizer.lr=3e-4", "data.train=my data/*.bin"] }
        XCTAssertEqual(Array(p.arguments.suffix(8)), ["/opt/pretrain", "train", "--config", "run.yaml", "--set", "optimizer.lr=3e-4", "--set", "data.train=my data/*.bin"])
        XCTAssertTrue(p.commandLine.hasSuffix("--set optimizer.lr=3e-4 --set 'data.train=my data/*.bin'"), p.commandLine)
        let selftest = try plan(config(), try machine()) { $0.rankCommand = ["selftest", "comm"] }
        XCTAssertEqual(Array(selftest.arguments.suffix(3)), ["/opt/pretrain", "selftest", "comm"])
    }

    func testAffinityBindsEachRankToItsThreadsCores() throws {
        let four = try plan(config { $0.launch.enableCPUAffinity = true; $0.launch.threadsPerProcess = 4 }, try machine(cores: 8))
        XCTAssertEqual(Array(four.arguments[2..<6]), ["--map-by", "slot:PE=4", "--bind-to", "core"])
        XCTAssertTrue(four.commandLine.contains("-x OMP_NUM_THREADS=4 -x OPENBLAS_NUM_THREADS=4"))
        let one = try plan(config { $0.launch.enableCPUAffinity = true; $0.launch.numProcesses = 8 }, try machine(cores: 8))
        XCTAssertEqual(Array(one.arguments[2..<6]), ["--map-by", "core", "--bind-to", "core"])
    }

    func testAffinityThatDoesNotFitIsDroppedWithANotice() throws {
        let p = try plan(config { $0.launch.enableCPUAffinity = true; $0.launch.threadsPerProcess = 3 }, try machine(cores: 4))
        XCTAssertEqual(Array(p.arguments[2..<4]), ["--bind-to", "none"])
        XCTAssertEqual(p.notices, [
            "notice: 2 ranks × 3 threads = 6 threads on 4 cores; lower threads_per_process to 2 to stop them competing",
            "notice: enable_cpu_affinity: 2 ranks × 3 threads do not fit on 4 cores; not binding",
        ])
    }

    func testMoreRanksThanCoresOversubscribeWithANotice() throws {
        let p = try plan(config { $0.launch.numProcesses = 4 }, try machine(cores: 2))
        XCTAssertEqual(Array(p.arguments[0..<3]), ["-n", "4", "--oversubscribe"])
        XCTAssertEqual(p.threadsPerProcess, 1)
        XCTAssertEqual(p.notices, ["notice: 4 ranks on 2 cores: oversubscribed (ranks share cores and yield while they wait; expect lower throughput)"])
    }

    func testRanksBeyondPhysicalCoresUseHardwareThreadsAsSlots() throws {
        let p = try plan(config { $0.launch.numProcesses = 8; $0.launch.enableCPUAffinity = true }, try machine(cores: 8, physical: 4))
        XCTAssertEqual(Array(p.arguments[0..<7]), ["-n", "8", "--use-hwthread-cpus", "--map-by", "hwthread", "--bind-to", "hwthread"])
    }

    func testBLASCoreAndPretrainSettingsAreExportedButNotTheReexecMarker() throws {
        let env = try machine(variables: ["OPENBLAS_CORETYPE": "SkylakeX", "PRETRAIN_MPI_DEFAULTS": "0",
                                          "PRETRAIN_BLAS_REEXEC": "1", "HOME": "/root", "OMP_NUM_THREADS": "16"])
        let p = try plan(config(), env)
        let exported = stride(from: 0, to: p.arguments.count, by: 1).filter { p.arguments[$0] == "-x" }.map { p.arguments[$0 + 1] }
        XCTAssertEqual(exported, ["OMP_NUM_THREADS=4", "OPENBLAS_CORETYPE=SkylakeX", "OPENBLAS_NUM_THREADS=4", "PRETRAIN_MPI_DEFAULTS=0"])
    }

    func testTheUsersOwnMCASettingWinsOverTheProjectsTuning() throws {
        let p = try plan(config(), try machine(variables: ["OMPI_MCA_pml": "ucx"]))
        XCTAssertFalse(p.commandLine.contains("--mca pml"), p.commandLine)
        XCTAssertTrue(p.commandLine.contains("--mca coll_tuned_allreduce_algorithm 5"), p.commandLine)
    }

    func testDebugReportsBindings() throws {
        XCTAssertTrue(try plan(config { $0.launch.debug = true }, try machine()).arguments.contains("--report-bindings"))
    }

    func testDistributedTypeNoRunsOneProcessDirectlyWithEveryCore() throws {
        let p = try plan(config { $0.launch.distributedType = "NO"; $0.launch.numProcesses = 1 }, try machine(cores: 6, tools: []))
        XCTAssertEqual(p.kind, .direct)
        XCTAssertEqual(p.executable, "/opt/pretrain")
        XCTAssertEqual(p.arguments, ["train", "--config", "run.yaml"])
        XCTAssertEqual(p.commandLine, "OMP_NUM_THREADS=6 OPENBLAS_NUM_THREADS=6 /opt/pretrain train --config run.yaml")
    }

    func testMachineRankIsExplainedNotUsed() throws {
        let p = try plan(config { $0.launch.machineRank = 1 }, try machine())
        XCTAssertEqual(p.notices, ["notice: machine_rank 1 is ignored: `pretrain launch` starts the ranks of every machine from one place; run it once, on the first machine"])
    }

    // MARK: - Errors

    func testNoMpirunOnPathSaysHowToInstallIt() throws {
        XCTAssertEqual(launchError(config(), try machine(tools: [])),
                       "mpirun not found on PATH; install OpenMPI (`sudo apt-get install openmpi-bin`) or add its bin directory to PATH, or train in one process with --set distributed_type=NO --set num_processes=1")
        XCTAssertEqual(launchError(config(), try machine()) { $0.mpirunProgram = "/nope/mpirun" },
                       "--mpirun /nope/mpirun: no such executable; give the path of OpenMPI's mpirun")
    }

    func testSeveralMachinesNeedAHostfileOrSlurm() throws {
        XCTAssertEqual(launchError(config { $0.launch.numMachines = 2 }, try machine()),
                       "run.yaml: num_machines is 2 but no hostfile is set; set mpirun_config.mpirun_hostfile (see cluster/hostfile.example) or run inside a Slurm allocation (cluster/slurm.sbatch)")
    }

    func testSrunOutsideSlurmIsAnError() throws {
        XCTAssertEqual(launchError(config(), try machine(tools: ["mpirun", "srun"])) { $0.launcher = .srun },
                       "--launcher srun needs a Slurm allocation (no SLURM_JOB_ID here); submit cluster/slurm.sbatch with sbatch, or use --launcher mpirun")
    }

    func testLaunchStartedPerRankSaysToRunItOnce() throws {
        XCTAssertEqual(launchError(config(), try machine(variables: ["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2"])),
                       "pretrain launch is running as one of 4 tasks of mpirun; it starts the ranks itself, so run it once (e.g. in the batch script), or run `pretrain train` under your own launcher")
        XCTAssertTrue(launchError(config(), try machine(variables: slurm.merging(["SLURM_STEP_NUM_TASKS": "4"]) { $1 }))
            .hasPrefix("pretrain launch is running as one of 4 tasks of srun;"))
        XCTAssertEqual(try plan(config(), try machine(variables: ["OMPI_COMM_WORLD_SIZE": "1"])).worldSize, 2, "a singleton is fine")
    }

    // MARK: - Hostfile

    func hostfile(_ text: String) throws -> String {
        try LaunchFixtures.write(text, to: try LaunchFixtures.temporaryDirectory("hosts"), "hostfile")
    }

    func testHostfileSpreadsRanksEvenlyAndLetsEachHostPickItsThreads() throws {
        let path = try hostfile("node1 slots=4\nnode2 slots=4\n")
        let p = try plan(config { $0.launch.numProcesses = 8; $0.launch.numMachines = 2; $0.launch.mpirunHostfile = path }, try machine(root: true))
        XCTAssertEqual(p.arguments, ["-n", "8", "--hostfile", path, "--npernode", "4", "--wdir", "/work/run", "--bind-to", "none",
                                     "--allow-run-as-root"] + Self.tuningFlags + ["/opt/pretrain", "train", "--config", "run.yaml"])
        XCTAssertNil(p.threadsPerProcess)
    }

    func testHostfileWithUnevenSlotsFillsBySlotAndForwardsTheUsersThreadCount() throws {
        let path = try hostfile("big slots=3\nsmall slots=1\n")
        let p = try plan(config { $0.launch.numProcesses = 4; $0.launch.numMachines = 2; $0.launch.mpirunHostfile = path; $0.launch.threadsPerProcess = 2 },
                         try machine())
        XCTAssertFalse(p.arguments.contains("--npernode"))
        XCTAssertTrue(p.commandLine.contains("-x OMP_NUM_THREADS=2 -x OPENBLAS_NUM_THREADS=2"), p.commandLine)
    }

    func testMoreRanksThanHostfileSlotsNeedsOversubscribe() throws {
        let path = try hostfile("a slots=1\nb slots=1\n")
        let c = config { $0.launch.numProcesses = 4; $0.launch.numMachines = 2; $0.launch.mpirunHostfile = path }
        XCTAssertEqual(launchError(c, try machine()),
                       "run.yaml: num_processes 4 is more than the 2 slots in hostfile \(path); lower num_processes, raise slots= in the hostfile, or pass --oversubscribe")
        XCTAssertTrue(try plan(c, try machine()) { $0.oversubscribe = true }.arguments.contains("--oversubscribe"))
    }

    func testNumMachinesMustMatchTheHostfile() throws {
        let path = try hostfile("a slots=2\n")
        XCTAssertEqual(launchError(config { $0.launch.numMachines = 2; $0.launch.mpirunHostfile = path }, try machine()),
                       "run.yaml: num_machines is 2 but hostfile \(path) names 1 machine; set num_machines: 1 or list 2 machines in the hostfile")
    }

    func testMissingOrSlotlessHostfileIsOneLine() throws {
        XCTAssertTrue(launchError(config { $0.launch.mpirunHostfile = "/nonexistent/hosts" }, try machine())
            .hasPrefix("/nonexistent/hosts: no such hostfile (mpirun_config.mpirun_hostfile)"))
        let path = try hostfile("a\n")
        XCTAssertEqual(launchError(config { $0.launch.mpirunHostfile = path }, try machine()),
                       "\(path):1: host a names no slots; write `a slots=N` (N = ranks to start there)")
    }

    // MARK: - Slurm

    let slurm = ["SLURM_JOB_ID": "99", "SLURM_NTASKS": "4", "SLURM_JOB_NUM_NODES": "2", "SLURM_CPUS_PER_TASK": "3",
                 "SLURM_TASKS_PER_NODE": "2(x2)"]

    func testInsideSlurmTheAllocationDecidesRanksAndThreads() throws {
        let path = try hostfile("x slots=1\n")
        let p = try plan(config { $0.launch.mpirunHostfile = path }, try machine(root: true, variables: slurm))
        XCTAssertEqual(p.kind, .mpirun)
        XCTAssertEqual(p.worldSize, 4)
        XCTAssertEqual(p.threadsPerProcess, 3)
        XCTAssertEqual(p.arguments, ["-n", "4", "--bind-to", "none", "--allow-run-as-root", "-x", "OMP_NUM_THREADS=3", "-x", "OPENBLAS_NUM_THREADS=3"]
                       + Self.tuningFlags + ["/opt/pretrain", "train", "--config", "run.yaml", "--set", "num_processes=4"])
        XCTAssertEqual(p.notices, [
            "notice: inside Slurm job 99 the allocation's nodes are used; mpirun_config.mpirun_hostfile \(path) is ignored",
            "notice: Slurm job 99 has 4 tasks; running 4 ranks instead of num_processes 2",
        ])
    }

    func testSlurmTaskCountThatBreaksTheGlobalBatchIsAnError() throws {
        let c = config { $0.training.globalBatch = 18; $0.training.microBatch = 8 }
        XCTAssertEqual(launchError(c, try machine(variables: slurm)),
                       "run.yaml: training.global_batch 18 does not split evenly over 4 processes; use a multiple of 4 (e.g. 16 or 20) (the Slurm allocation has 4 tasks; submit with `sbatch $(pretrain launch --config run.yaml --sbatch-options) …` to match the config)")
    }

    func testSrunStartsRanksWithPMIxInsideSlurm() throws {
        let p = try plan(config { $0.launch.numProcesses = 4 }, try machine(tools: ["mpirun", "srun"], variables: slurm)) { $0.launcher = .srun }
        XCTAssertEqual(p.kind, .srun)
        XCTAssertEqual(p.displayName, "srun")
        XCTAssertEqual(p.arguments, ["--mpi=pmix", "--kill-on-bad-exit=1", "-n", "4", "--cpu-bind=none", "/opt/pretrain", "train", "--config", "run.yaml"])
        XCTAssertEqual(p.commandLine, "OMP_NUM_THREADS=3 OPENBLAS_NUM_THREADS=3 OMPI_MCA_pml=ob1 OMPI_MCA_coll_tuned_allreduce_algorithm=5 srun --mpi=pmix --kill-on-bad-exit=1 -n 4 --cpu-bind=none /opt/pretrain train --config run.yaml")
    }

    func testAutoFallsBackToSrunWhenSlurmHasNoMpirun() throws {
        XCTAssertEqual(try plan(config { $0.launch.numProcesses = 4 }, try machine(tools: ["srun"], variables: slurm)).kind, .srun)
    }

    func testSbatchOptionsFollowTheConfig() {
        XCTAssertEqual(LaunchPlanner.sbatchOptions(config: config { $0.launch.numProcesses = 8; $0.launch.numMachines = 2; $0.launch.threadsPerProcess = 4 }),
                       ["--nodes=2", "--ntasks=8", "--ntasks-per-node=4", "--cpus-per-task=4"])
        XCTAssertEqual(LaunchPlanner.sbatchOptions(config: config { $0.launch.numProcesses = 3; $0.launch.numMachines = 2 }),
                       ["--nodes=2", "--ntasks=3"])
    }
}
