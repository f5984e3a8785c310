import ArgumentParser
import Checkpoint
import Config
import Distributed
import Foundation
import Plot
import Training

/// `pretrain train`: one rank of a data-parallel training run (start it with mpirun, srun or alone).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config; run it under mpirun/srun for data parallelism.",
        discussion: """
        Every process started by the launcher is one rank holding a full model replica:
          mpirun -n 2 .build/release/pretrain train --config configs/tiny.yaml
          .build/release/pretrain train --config configs/tiny.yaml --set training.steps=20   (one process)
        Rank 0 prints the resolved config and a line every logging.interval steps; every rank writes
        its numbers as JSON lines to <logging.run_dir>/metrics/rank-NNNNN.jsonl (and a .csv twin); at the
        end rank 0 plots them to <logging.run_dir>/plot.svg (`pretrain plot`). On a terminal rank 0
        shows a progress bar instead of lines. logging.timeline: true writes a Chrome trace per rank
        to <logging.run_dir>/timeline/rank-NNNNN.json (open it in https://ui.perfetto.dev).
        A collective that has not completed after training.watchdog_seconds ends the job with a message
        naming the ranks that never arrived (each rank records its collectives in
        <logging.run_dir>/heartbeat/, which must be on a filesystem every rank can read).
        Checkpoints go to checkpoint.dir (default <logging.run_dir>/checkpoints): every checkpoint.every
        steps and at the end. `--resume auto` continues from the newest complete checkpoint there (or
        starts fresh when there is none); `--resume DIR` from a given one, on any number of ranks.
        SIGTERM or SIGUSR1 (on any rank; a scheduler's preemption) makes the run save a checkpoint at the
        next step boundary and exit with status 75 (cluster/slurm.sbatch requeues on it). SIGINT (Ctrl-C)
        or SIGUSR2 saves the same way and exits with 130, which nothing requeues. A second signal exits
        at once (128 + signal). Under a plain mpirun, preempt with SIGUSR1 (`kill -USR1 <mpirun>`,
        `scancel --signal=USR1`) or interrupt with SIGUSR2: mpirun passes both to every rank, while its
        own SIGTERM/SIGINT is OpenMPI's abort (status 1, ranks killed 1 s later); `pretrain launch`
        turns SIGTERM into SIGUSR1 and Ctrl-C into SIGUSR2 for you.
        Before the first step every rank checks that data.tokenizer exists and fits the model
        (data.tokenizer: '' trains without one) and that logging.run_dir and checkpoint.dir are writable,
        and plans the memory a rank will hold (parameters, gradients, AdamW moments, activations,
        checkpoint staging) against what the host offers (MemAvailable and the cgroup limit, shared by the
        ranks on the host): a run that cannot fit is refused in one line naming the levers.
        """.helpParagraphs)

    @Option(help: "The run's YAML config (`pretrain config --defaults --out run.yaml` writes one).") var config: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=3e-4 (repeatable).") var overrides: [String] = []
    @Option(help: "Print a line every N steps (default: logging.interval).") var logInterval: Int?
    @Option(help: "When gradients are sent: overlap (buckets during backward), after-backward (once backward is done; on one host the rank done first sums what the others have finished), or auto (after-backward when all ranks share one host and every core computes, else overlap; measured, BENCHMARKS.md).")
    var gradSync: String = "auto"
    @Option(help: "Continue from a checkpoint: auto (the newest complete one in checkpoint.dir, else start fresh) or a step-NNNNNNNN directory (or a checkpoint root).")
    var resume: String?
    @Flag(help: "Print only errors and the final summary.") var quiet = false
    @Option(help: .hidden) var injectFault: String?

    func run() throws {
        let launcherRank = MPILibrary.launcherLayout?.rank ?? 0
        // Config errors are the same on every rank: rank 0 reports them, the others exit quietly.
        let resolved: RunConfig
        var options = TrainerOptions()
        do {
            resolved = try loadConfig(config, overrides)
            options.overlapCommunication = try Self.parseGradSync(gradSync)
            if let injectFault = injectFault ?? ProcessInfo.processInfo.environment["PRETRAIN_INJECT_FAULT"] {
                guard let fault = TrainingFault(injectFault) else { throw CLIError("--inject-fault \(injectFault) is not KIND@RANK:STEP") }
                options.fault = fault
            }
        } catch {
            if launcherRank == 0 { throw error }
            throw ExitCode(2)
        }
        options.measurePeak = true
        options.checkpoints = true
        let mpi: MPICommunicator
        do { mpi = try MPICommunicator() } catch { throw CLIError("cannot start MPI: \(error)") }
        let rank = mpi.rank
        PreemptionFlag.install()  // after MPI_Init, so that no handler of the MPI library replaces it
        let reporter = TrainingReporter(config: resolved, rank: rank, interval: logInterval ?? resolved.logging.interval, quiet: quiet)
        var setupDone = false
        do {
            // Before anything is written or computed, on every rank: the tokenizer, and the directories.
            try StartupChecks.run(resolved, comm: mpi)
            // Before the model is allocated: refuse in one line what cannot fit (never an allocation crash).
            let memory = try MemoryPlan.checked(resolved, comm: mpi)
            // Before anything is written: a fresh run must not replace an earlier run's files.
            if resume == nil { try StartupChecks.refuseToReplaceCheckpoints(in: Trainer.checkpointRoot(resolved), comm: mpi) }
            try reporter.open(appending: resume != nil)
            if rank == 0, !quiet { print(memory.plan.summary(budget: memory.budget)) }
            let comm = try Trainer.watched(mpi, config: resolved) { report in
                let seconds = resolved.training.watchdogSeconds
                FileHandle.standardError.write(Data(
                    "error: rank \(report.rank): \(report.message); ending the job (training.watchdog_seconds is \(seconds))\n".utf8))
                mpi.abort(exitCode: 4)
            }
            let trainer = try Trainer(config: resolved, comm: comm, options: options, events: reporter.handle)
            if let resume { try trainer.resume(from: resume) }
            setupDone = true
            let summary = try trainer.run()
            try comm.shutdown()
            if rank == 0 { Self.plotAtEnd(resolved, quiet: quiet) }
            if summary.preempted { throw ExitCode(PreemptionFlag.exitStatus(after: summary.signal)) }
        } catch let code as ExitCode {
            throw code
        } catch let failure as StartupChecks.Failure {
            // One rank (the lowest that found a problem) speaks before MPI_Finalize; all exit.
            if failure.report { FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8)) }
            try? mpi.shutdown()
            throw ExitCode(2)
        } catch {
            let message = (error as? TrainingError)?.message ?? "\(error)"
            if !setupDone {
                // Setup errors (data, config, replicas) hit every rank alike: rank 0 speaks, all exit.
                // Rank 0 writes before MPI_Finalize, which no rank leaves before all have entered it,
                // so mpirun cannot end rank 0 (on another rank's exit status) before the line is out.
                if rank == 0 { FileHandle.standardError.write(Data("error: \(message)\n".utf8)) }
                try? mpi.shutdown()
                throw ExitCode(2)
            }
            // Mid-run, other ranks may be waiting in a collective: say what happened and end the job.
            FileHandle.standardError.write(Data("error: rank \(rank): \(message)\n".utf8))
            mpi.abort(exitCode: 1)
        }
    }

    /// Draws the run's loss plot (rank 0, after the run); a failure is a warning, never an error.
    static func plotAtEnd(_ config: RunConfig, quiet: Bool) {
        do {
            let result = try RunPlotter.plot(config.logging.runDir)
            if !quiet { PlotCommand.report(result) }
        } catch {
            FileHandle.standardError.write(Data("warning: no plot: \(error)\n".utf8))
        }
    }

    /// `overlap` → true, `after-backward` → false, `auto` → nil (`TrainerOptions.automaticOverlap(ranks:localRanks:threadsPerRank:cores:)`).
    static func parseGradSync(_ text: String) throws -> Bool? {
        switch text {
        case "overlap": return true
        case "after-backward": return false
        case "auto": return nil
        default: throw CLIError("--grad-sync \(text) is not auto, overlap or after-backward")
        }
    }
}
