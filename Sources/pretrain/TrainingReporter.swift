#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Config
import Foundation
import Training

/// Turns training events into console output (rank 0) and, through `MetricsFileWriter`, metrics files
/// (every rank).
///
/// Console: on a terminal (see `outputIsTerminal`) a progress bar redrawn in place — step/total,
/// loss, tokens/s, MFU, ETA — with eval results and warnings printed above it; otherwise (CI, Slurm,
/// pipes) one plain line every `interval` steps (and the first and last). `--quiet` prints only the
/// final summary.
///
/// Files: `<run_dir>/metrics/rank-NNNNN.jsonl` and its CSV twin (see `MetricsFileWriter`).
final class TrainingReporter {
    let config: RunConfig
    let rank: Int
    let interval: Int
    let quiet: Bool
    /// Whether rank 0 draws a progress bar (standard output is a terminal).
    let interactive: Bool
    private var metrics: MetricsFileWriter?
    private var totalSteps: Int { config.training.steps }
    private let start = DispatchTime.now().uptimeNanoseconds
    /// Where the ETA is measured from: the first step this process saw (a resumed run starts late).
    private var firstStep: (step: Int, time: UInt64)?
    /// Steps this process has trained (none when a resumed run was already complete).
    private var stepsSeen = 0
    private var lastDraw: UInt64 = 0
    private var barShown = false
    /// Time per step and for the run, from the first steps (printed once; a warning past an hour).
    private lazy var estimate = RunTimeEstimate(totalSteps: totalSteps)

    /// `PRETRAIN_PROGRESS=bar` or `lines` forces the console style (`pretrain launch` sets `bar` when
    /// its own output is a terminal, since the ranks then write through its pipe).
    static let progressVariable = "PRETRAIN_PROGRESS"

    /// Whether standard output ends at a terminal. Under mpirun a rank's standard output is a
    /// pseudo-terminal of mpirun's even when mpirun writes to a pipe or a file, so there the answer is
    /// whether the launcher's (parent process's) standard output is a terminal.
    static func outputIsTerminal() -> Bool {
        switch ProcessInfo.processInfo.environment[progressVariable] {
        case "bar": return true
        case "lines": return false
        default: break
        }
        guard isatty(1) != 0 else { return false }
        let launched = ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"].contains { ProcessInfo.processInfo.environment[$0] != nil }
        guard launched else { return true }
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(getppid())/fd/1")) ?? ""
        return target.hasPrefix("/dev/pts/") || target.hasPrefix("/dev/tty")
    }

    init(config: RunConfig, rank: Int, interval: Int, quiet: Bool, interactive: Bool = TrainingReporter.outputIsTerminal()) {
        self.config = config
        self.rank = rank
        self.interval = max(1, interval)
        self.quiet = quiet
        self.interactive = interactive
    }

    /// Creates the run directory and this rank's metrics files; a resumed run (`appending`) adds to
    /// the files of the run it continues.
    func open(appending: Bool = false) throws {
        metrics = try MetricsFileWriter(directory: config.logging.runDir + "/metrics", rank: rank, appending: appending)
    }

    private var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    func handle(_ event: TrainingEvent) {
        metrics?.write(event, elapsed: elapsed)
        switch event {
        case let .started(info):
            guard rank == 0, !quiet else { return }
            print("# resolved config\n" + info.resolvedConfig, terminator: "")
            print("training: \(info.worldSize) rank(s) × \(info.threads) thread(s) [\(info.backend)], \(info.parameters) parameters, "
                  + "\(info.accumulationSteps) micro-batch(es) per rank per step, \(info.tokensPerStep) tokens per step, "
                  + "\(info.trainSequences) training sequences per epoch")
            fflush(stdout)
        case let .step(m):
            stepsSeen += 1
            if rank == 0, let e = estimate.record(step: m.step, stepSeconds: m.stepSeconds) {
                if !quiet { above(e.line) }
                if let warning = e.warning { handle(.warning(warning)) }
            }
            guard rank == 0, !quiet else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            if firstStep == nil { firstStep = (m.step, now) }
            if interactive {
                // At most ten redraws a second, and always the last step.
                guard now - lastDraw >= 100_000_000 || m.step == totalSteps else { return }
                lastDraw = now
                redrawBar(m, now: now)
            } else if m.step % interval == 0 || m.step == totalSteps || m.step == 1 {
                let exposedShare = m.stepSeconds > 0 ? m.exposedCommSeconds / m.stepSeconds * 100 : 0
                print(String(format: "step %5d/%d | loss %.4f | lr %.2e | grad %.3f | %8.0f tok/s | MFU %4.1f%% | comm %.1f ms, exposed %.1f ms (%.1f%%) | ETA %@",
                             m.step, totalSteps, m.loss, m.lr, m.gradNorm, m.tokensPerSecond, m.mfu * 100,
                             m.commSeconds * 1000, m.exposedCommSeconds * 1000, exposedShare, eta(step: m.step, now: now)))
                fflush(stdout)
            }
        case let .eval(e):
            if rank == 0, !quiet {
                above(String(format: "eval  %5d | val loss %.4f | perplexity %.2f | %@", e.step, e.loss, e.perplexity, e.scope))
            }
        case let .warning(text):
            if rank == 0 {
                clearBar()
                FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
            }
        case let .checkpoint(c):
            guard rank == 0 else { return }
            switch c.kind {
            case .saved:
                let ratio = c.storedBytes > 0 ? Double(c.rawBytes) / Double(c.storedBytes) : 0
                if !quiet { above(String(format: "checkpoint: saved %@ (%.1f MB, ratio %.3f; stall %.1f ms, write %.2f s, commit %.1f ms)",
                                         c.path, Double(c.storedBytes) / 1e6, ratio, c.stallSeconds * 1000, c.writeSeconds, c.commitSeconds * 1000)) }
            case .resumed:
                if !quiet { above("checkpoint: resumed from \(c.path) at step \(c.step) (saved by \(c.worldSize) rank(s))") }
            case .fresh:
                if !quiet { above("checkpoint: \(c.message)") }
            case .skipped:
                clearBar()
                FileHandle.standardError.write(Data("warning: \(c.message)\n".utf8))
            case .preempted:
                clearBar()
                FileHandle.standardError.write(Data((PreemptionFlag.story(signal: c.signal, step: c.step, path: c.path, resume: "--resume auto") + "\n").utf8))
            }
        case let .finished(s):
            if rank == 0 {
                if barShown { print(""); barShown = false }
                let val = s.finalValLoss.map { String(format: ", val loss %.4f (perplexity %.2f)", $0, exp(Double($0))) } ?? ""
                if stepsSeen == 0 {
                    print("done: the run is already at step \(s.steps) of \(totalSteps); nothing left to train (raise training.steps to continue it)")
                } else {
                    print(String(format: "done: %d steps in %.1f s, final loss %.4f%@", s.steps, s.seconds, s.finalLoss, val))
                }
                fflush(stdout)
            }
        }
    }

    /// "1m05s" style estimate of the time left, from the mean step time so far.
    private func eta(step: Int, now: UInt64) -> String {
        guard let first = firstStep, step > first.step else { return "?" }
        let perStep = Double(now - first.time) / 1e9 / Double(step - first.step)
        return RunTimeEstimate.duration(perStep * Double(max(0, totalSteps - step)))
    }

    private func redrawBar(_ m: StepMetrics, now: UInt64) {
        let width = 24
        let fraction = min(1, Double(m.step) / Double(max(1, totalSteps)))
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = String(format: "step %d/%d %@ %3.0f%% | loss %.4f | %.0f tok/s | MFU %.1f%% | ETA %@",
                          m.step, totalSteps, bar, fraction * 100, m.loss, m.tokensPerSecond, m.mfu * 100, eta(step: m.step, now: now))
        print("\r\u{1B}[2K" + line, terminator: "")
        fflush(stdout)
        barShown = true
    }

    /// Erases the bar (it is redrawn at the next step).
    private func clearBar() {
        guard barShown else { return }
        print("\r\u{1B}[2K", terminator: "")
        fflush(stdout)
        barShown = false
    }

    /// Prints a line above the progress bar (or just prints it without one).
    private func above(_ line: String) {
        clearBar()
        print(line)
        fflush(stdout)
    }
}
