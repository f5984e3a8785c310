#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Turns training events into what rank 0's console shows; the CLI only writes what it returns.
///
/// On a terminal (`interactive`) a progress bar redrawn in place — step/total, loss, tokens/s, MFU,
/// ETA — with eval results and warnings above it; otherwise (CI, Slurm, pipes) one plain line every
/// `interval` steps (and the first and last). `quiet` keeps only warnings and the final summary.
/// Other ranks get nothing back.
public final class TrainingConsole {
    /// One piece of console output.
    public enum Output: Equatable {
        /// A line for standard output (above the bar, which is erased first).
        case line(String)
        /// A line for standard error (the bar is erased first).
        case error(String)
        /// The progress bar's new text, drawn in place of the old one.
        case bar(String)
    }

    let totalSteps: Int
    let rank: Int
    let interval: Int
    let quiet: Bool
    let interactive: Bool
    /// Where the ETA is measured from: the first step this process saw (a resumed run starts late).
    private var firstStep: (step: Int, time: UInt64)?
    /// Steps this process has trained (none when a resumed run was already complete).
    private var stepsSeen = 0
    private var lastDraw: UInt64 = 0
    /// Time per step and for the run, from the first steps (printed once; a warning past an hour).
    private lazy var estimate = RunTimeEstimate(totalSteps: totalSteps)

    /// `PRETRAIN_PROGRESS=bar` or `lines` forces the console style (`pretrain launch` sets `bar` when
    /// its own output is a terminal, since the ranks then write through its pipe).
    public static let progressVariable = "PRETRAIN_PROGRESS"

    /// Whether standard output ends at a terminal. Under mpirun a rank's standard output is a
    /// pseudo-terminal of mpirun's even when mpirun writes to a pipe or a file, so there the answer is
    /// whether the launcher's (parent process's) standard output is a terminal.
    public static func outputIsTerminal() -> Bool {
        let environment = ProcessInfo.processInfo.environment
        switch environment[progressVariable] {
        case "bar": return true
        case "lines": return false
        default: break
        }
        guard isatty(1) != 0 else { return false }
        let launched = ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID"].contains { environment[$0] != nil }
        guard launched else { return true }
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(getppid())/fd/1")) ?? ""
        return target.hasPrefix("/dev/pts/") || target.hasPrefix("/dev/tty")
    }

    public init(totalSteps: Int, rank: Int, interval: Int, quiet: Bool, interactive: Bool) {
        self.totalSteps = totalSteps
        self.rank = rank
        self.interval = max(1, interval)
        self.quiet = quiet
        self.interactive = interactive
    }

    /// What to show for `event` (nothing on ranks other than 0).
    public func render(_ event: TrainingEvent) -> [Output] {
        if case .step = event { stepsSeen += 1 }
        guard rank == 0 else { return [] }
        switch event {
        case let .started(info):
            return quiet ? [] : [.line("# resolved config\n" + info.resolvedConfig.trimmingCharacters(in: .newlines)),
                                 .line("training: \(info.worldSize) rank(s) × \(info.threads) thread(s) [\(info.backend)], \(info.precision), "
                                       + (info.gradientSync.isEmpty ? "" : "\(info.gradientSync), ") + "\(info.parameters) parameters, "
                                       + "\(info.accumulationSteps) micro-batch(es) per rank per step, \(info.tokensPerStep) tokens per step, "
                                       + "\(info.trainSequences) training sequences per epoch")]
        case let .step(m):
            return step(m)
        case let .eval(e):
            return quiet ? [] : [.line(String(format: "eval  %5d | val loss %.4f | perplexity %.2f | %@", e.step, e.loss, e.perplexity, e.scope))]
        case let .warning(text):
            return [.error("warning: \(text)")]
        case let .checkpoint(c):
            return checkpoint(c)
        case let .finished(s):
            let val = s.finalValLoss.map { String(format: ", val loss %.4f (perplexity %.2f)", $0, exp(Double($0))) } ?? ""
            if stepsSeen == 0 {
                return [.line("done: the run is already at step \(s.steps) of \(totalSteps); nothing left to train (raise training.steps to continue it)")]
            }
            return [.line(String(format: "done: %d steps in %.1f s, final loss %.4f%@", s.steps, s.seconds, s.finalLoss, val))]
        }
    }

    private func step(_ m: StepMetrics) -> [Output] {
        var out: [Output] = []
        if let e = estimate.record(step: m.step, stepSeconds: m.stepSeconds) {
            if !quiet { out.append(.line(e.line)) }
            if let warning = e.warning { out.append(.error("warning: \(warning)")) }
        }
        guard !quiet else { return out }
        let now = DispatchTime.now().uptimeNanoseconds
        if firstStep == nil { firstStep = (m.step, now) }
        if interactive {
            // At most ten redraws a second, and always the last step.
            guard now - lastDraw >= 100_000_000 || m.step == totalSteps else { return out }
            lastDraw = now
            let width = 24
            let fraction = min(1, Double(m.step) / Double(max(1, totalSteps)))
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            out.append(.bar(String(format: "step %d/%d %@ %3.0f%% | loss %.4f | %.0f tok/s | MFU %.1f%% | ETA %@",
                                   m.step, totalSteps, bar, fraction * 100, m.loss, m.tokensPerSecond, m.mfu * 100, eta(step: m.step, now: now))))
        } else if m.step % interval == 0 || m.step == totalSteps || m.step == 1 {
            let exposedShare = m.stepSeconds > 0 ? m.exposedCommSeconds / m.stepSeconds * 100 : 0
            out.append(.line(String(format: "step %5d/%d | loss %.4f | lr %.2e | grad %.3f | %8.0f tok/s | MFU %4.1f%% | comm %.1f ms, exposed %.1f ms (%.1f%%) | ETA %@",
                                    m.step, totalSteps, m.loss, m.lr, m.gradNorm, m.tokensPerSecond, m.mfu * 100,
                                    m.commSeconds * 1000, m.exposedCommSeconds * 1000, exposedShare, eta(step: m.step, now: now))))
        }
        return out
    }

    private func checkpoint(_ c: CheckpointReport) -> [Output] {
        switch c.kind {
        case .saved:
            let ratio = c.storedBytes > 0 ? Double(c.rawBytes) / Double(c.storedBytes) : 0
            return quiet ? [] : [.line(String(format: "checkpoint: saved %@ (%.1f MB, ratio %.3f; stall %.1f ms, write %.2f s, commit %.1f ms)",
                                               c.path, Double(c.storedBytes) / 1e6, ratio, c.stallSeconds * 1000, c.writeSeconds, c.commitSeconds * 1000))]
        case .resumed:
            return quiet ? [] : [.line("checkpoint: resumed from \(c.path) at step \(c.step) (saved by \(c.worldSize) rank(s))")]
        case .fresh:
            return quiet ? [] : [.line("checkpoint: \(c.message)")]
        case .skipped:
            return [.error("warning: \(c.message)")]
        case .preempted:
            return [.error(PreemptionFlag.story(signal: c.signal, step: c.step, path: c.path, resume: "--resume auto"))]
        }
    }

    /// "1m05s" style estimate of the time left, from the mean step time so far.
    private func eta(step: Int, now: UInt64) -> String {
        guard let first = firstStep, step > first.step else { return "?" }
        let perStep = Double(now - first.time) / 1e9 / Double(step - first.step)
        return RunTimeEstimate.duration(perStep * Double(max(0, totalSteps - step)))
    }
}
