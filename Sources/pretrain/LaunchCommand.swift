import ArgumentParser
import Config
import Distributed
import Foundation
import Launch
import Training

/// `pretrain launch`: starts every rank of a run (mpirun, srun inside Slurm, or one process) and
/// supervises the job until it ends.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Start a whole training job from its config: builds and runs the mpirun (or srun) command.",
        discussion: """
        The launch keys of the config decide the command (`--dry-run` prints it):
          num_processes, threads_per_process, enable_cpu_affinity   ranks, threads and binding
          num_machines + mpirun_config.mpirun_hostfile              other machines (`host slots=N` lines)
          distributed_type: NO                                       one process, no mpirun
        Inside a Slurm allocation (sbatch/salloc) the allocation's tasks and nodes are used.
        SIGINT (Ctrl-C), SIGTERM and SIGUSR1 are forwarded to the job; after SIGINT/SIGTERM it has
        --grace-period seconds to stop before it is killed (a second SIGINT/SIGTERM kills at once). Each
        rank then saves a checkpoint at the next step boundary. After SIGTERM or SIGUSR1 (a scheduler's
        preemption) the job exits with status 75 (cluster/slurm.sbatch requeues on it); after Ctrl-C
        with 130, which nothing requeues; `--resume auto` continues either. mpirun and srun get SIGUSR1
        for SIGTERM and SIGUSR2 for SIGINT (mpirun's own SIGINT/SIGTERM would abort the job with
        status 1). Otherwise the exit status is the job's.

        Examples:
          pretrain launch --config configs/tiny.yaml
          pretrain launch --config configs/tiny.yaml --set training.steps=50 --dry-run
          pretrain launch --config configs/tiny.yaml --resume auto     (continue from the newest checkpoint)
          pretrain launch --config run.yaml -- selftest comm        (another subcommand on every rank)
          sbatch $(pretrain launch --config run.yaml --sbatch-options) cluster/slurm.sbatch run.yaml
        """.helpParagraphs)

    @Option(help: "The run's YAML config.") var config: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=3e-4 (repeatable).") var overrides: [String] = []
    @Option(help: "Passed to `pretrain train --resume`: auto (newest complete checkpoint, else a fresh start) or a checkpoint directory.")
    var resume: String?
    @Flag(help: "Print the exact command instead of running it.") var dryRun = false
    @Option(help: "auto (mpirun; srun inside Slurm when there is no mpirun), mpirun or srun.") var launcher: String = "auto"
    @Option(name: .customLong("mpirun"), help: "The mpirun to use (a name on PATH or a path).") var mpirunProgram: String = "mpirun"
    @Flag(help: "Allow more ranks than the hostfile's slots.") var oversubscribe = false
    @Option(help: "Seconds the job has to stop after SIGINT/SIGTERM before it is killed.") var gracePeriod: Double = 30
    @Flag(help: "Print the sbatch options (nodes, tasks, cpus per task) the config asks for, and exit.") var sbatchOptions = false
    @Argument(parsing: .postTerminator, help: "After `--`: the pretrain subcommand every rank runs (default: train --config FILE --set …).")
    var rankCommand: [String] = []

    func validate() throws {
        guard LaunchOptions.Launcher(rawValue: launcher) != nil else {
            throw CLIError("--launcher \(launcher) is not a launcher; use auto, mpirun or srun")
        }
        guard gracePeriod >= 0, gracePeriod.isFinite else { throw CLIError("--grace-period \(gracePeriod) must be a number of seconds ≥ 0") }
    }

    func run() throws {
        let resolved = try loadConfig(config, overrides)
        if sbatchOptions {
            print(LaunchPlanner.sbatchOptions(config: resolved).joined(separator: " "))
            return
        }
        var options = LaunchOptions(
            configPath: config, overrides: overrides, rankCommand: rankCommand,
            launcher: LaunchOptions.Launcher(rawValue: launcher) ?? .auto, oversubscribe: oversubscribe,
            mpirunProgram: mpirunProgram,
            mpiTuning: MPICommunicator.recommendedEnvironment.map { .init(name: $0.name, value: $0.value) })
        if let resume {
            guard rankCommand.isEmpty else { throw CLIError("--resume applies to the default train command; with a rank command after `--`, put --resume there") }
            options.trainArguments = ["--resume", resume]
        }
        let environment = LaunchEnvironment.current()
        let plan = try LaunchPlanner.plan(config: resolved, options: options, environment: environment)
        for notice in plan.notices { FileHandle.standardError.write(Data((notice + "\n").utf8)) }
        if dryRun {
            print(plan.commandLine)
            return
        }
        FileHandle.standardError.write(Data("pretrain launch: \(plan.commandLine)\n".utf8))
        var childEnvironment = environment.variables
        for variable in plan.environment { childEnvironment[variable.name] = variable.value }
        // The ranks' output reaches the terminal through this process: tell rank 0 it may draw a bar.
        if isatty(1) != 0, childEnvironment[TrainingConsole.progressVariable] == nil { childEnvironment[TrainingConsole.progressVariable] = "bar" }
        let supervisor = JobSupervisor(executable: plan.executable, arguments: plan.arguments,
                                       environment: childEnvironment, graceSeconds: gracePeriod,
                                       stopSignal: plan.kind == .direct ? nil : SIGUSR1, interruptSignal: plan.kind == .direct ? nil : SIGUSR2)
        let runDir = resolved.logging.runDir, trains = rankCommand.isEmpty
        if trains { PreemptionFlag.removeMarker(runDir: runDir) }
        let outcome = try supervisor.run()
        let stop = outcome.forwardedSignals.first(where: { $0 != SIGUSR1 }) ?? outcome.forwardedSignals.first
        if outcome.status != 0, let step = outcome.digest.preemptedStep ?? (trains ? PreemptionFlag.markedStep(runDir: runDir) : nil) {
            // Rank 0 reports the preemption checkpoint once every rank's part of it is written (its line,
            // or its marker file when mpirun, aborting on a SIGTERM of its own, lost the line): the job
            // ends with the preemption status, whatever status mpirun chose on its way out.
            let after = stop.map { " after \(Self.signalName($0))" } ?? "", status = PreemptionFlag.exitStatus(after: stop ?? (outcome.digest.interrupted ? SIGINT : SIGTERM))
            let place = " in " + (outcome.digest.preemptedPath ?? Trainer.checkpointRoot(resolved))
            FileHandle.standardError.write(Data(("pretrain launch: the job stopped\(after) with its checkpoint saved at step \(step)\(place); exit status \(status) "
                + (status == PreemptionFlag.exitStatus ? "(requeue it, or continue with --resume auto)\n" : "(continue with --resume auto)\n")).utf8))
            throw ExitCode(status)
        }
        if let stop, stop != SIGUSR1, outcome.status != 0 {
            throw CLIError("the job stopped after \(Self.signalName(stop))\(outcome.killed ? " (killed)" : "") with exit status \(outcome.status)",
                           exitCode: outcome.status)
        }
        if let summary = outcome.digest.summary(status: outcome.status), !outcome.digest.ranksSaidWhy {
            throw CLIError(summary, exitCode: outcome.status)
        }
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(signal)"
        }
    }
}
