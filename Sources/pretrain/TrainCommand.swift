import ArgumentParser
import Config
import Distributed
import Foundation
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
        its numbers as JSON lines to <logging.run_dir>/metrics/rank-NNNNN.jsonl.
        """)

    @Option(help: "The run's YAML config (`pretrain config --defaults --out run.yaml` writes one).") var config: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=3e-4 (repeatable).") var overrides: [String] = []
    @Option(help: "Print a line every N steps (default: logging.interval).") var logInterval: Int?
    @Flag(help: "Print only errors and the final summary.") var quiet = false

    func run() throws {
        let launcherRank = MPILibrary.launcherLayout?.rank ?? 0
        // Config errors are the same on every rank: rank 0 reports them, the others exit quietly.
        let resolved: RunConfig
        do { resolved = try loadConfig(config, overrides) } catch {
            if launcherRank == 0 { throw error }
            throw ExitCode(2)
        }
        let comm: MPICommunicator
        do { comm = try MPICommunicator() } catch { throw CLIError("cannot start MPI: \(error)") }
        let rank = comm.rank
        let reporter = TrainingReporter(config: resolved, rank: rank, interval: logInterval ?? resolved.logging.interval, quiet: quiet)
        var setupDone = false
        do {
            try reporter.open()
            let trainer = try Trainer(config: resolved, comm: comm, measurePeak: true, events: reporter.handle)
            setupDone = true
            try trainer.run()
            try comm.shutdown()
        } catch {
            let message = (error as? TrainingError)?.message ?? "\(error)"
            if !setupDone {
                // Setup errors (data, config, replicas) hit every rank alike: rank 0 speaks, all exit.
                try? comm.shutdown()
                if rank == 0 { throw CLIError(message) }
                throw ExitCode(2)
            }
            // Mid-run, other ranks may be waiting in a collective: say what happened and end the job.
            FileHandle.standardError.write(Data("error: rank \(rank): \(message)\n".utf8))
            comm.abort(exitCode: 1)
        }
    }
}
