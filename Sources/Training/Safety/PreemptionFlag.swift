import Foundation
import Support

/// Records the signals that stop a training run at the next step boundary with a checkpoint saved:
/// SIGTERM and SIGUSR1 (a scheduler's preemption: the run exits with status 75, "saved; requeue me")
/// and SIGINT (Ctrl-C) and SIGUSR2 (the Ctrl-C that `pretrain launch` passes on through mpirun or
/// srun): the run exits with status 130, as an interrupted program does, and nothing requeues it. The
/// ranks agree at the step boundary; a preemption on any rank outranks an interrupt. A second signal,
/// `repeatWindow` or more after the first, ends the process at once with status 128 + signal, as if
/// the signal had not been caught; earlier ones are the same stop arriving by another way.
public enum PreemptionFlag {
    /// The exit status of a run that saved a checkpoint after a preemption signal and wants to be
    /// started again (EX_TEMPFAIL). `cluster/slurm.sbatch` requeues the job on it.
    public static let exitStatus: Int32 = 75

    /// Whether `signal` is an interactive interrupt (SIGINT, or SIGUSR2 from `pretrain launch`).
    public static func isInterrupt(_ signal: Int32) -> Bool { signal == SIGINT || signal == SIGUSR2 }

    /// The exit status of a run that saved its checkpoint after `signal`: 130 (128 + SIGINT, the
    /// shell's status for Ctrl-C) after an interrupt, which nothing should run again by itself;
    /// `exitStatus` (75) after SIGTERM or SIGUSR1, a scheduler's preemption, which asks for a requeue.
    public static func exitStatus(after signal: Int32) -> Int32 { isInterrupt(signal) ? 128 + SIGINT : exitStatus }

    /// What this rank has to say at a step boundary, for the ranks' max-agreement: 0 nothing, 1 an
    /// interrupt, 2 a preemption (which wins: the job is to be requeued).
    public static var urgency: Int { signal == 0 ? 0 : isInterrupt(signal) ? 1 : 2 }

    /// The signal that stops the run after the ranks agreed on `urgency`: this rank's own when it is of
    /// that kind, else SIGINT (1) or SIGTERM (2).
    public static func agreed(urgency: Int) -> Int32 {
        guard urgency > 0 else { return 0 }
        if signal != 0, Self.urgency == urgency { return signal }
        return urgency == 1 ? SIGINT : SIGTERM
    }

    /// The signal's name, e.g. "SIGINT", "SIGUSR2 (Ctrl-C passed on by pretrain launch)".
    public static func name(_ signal: Int32) -> String {
        [SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2 (Ctrl-C passed on by pretrain launch)",
         SIGHUP: "SIGHUP", SIGKILL: "SIGKILL"][signal] ?? "signal \(signal)"
    }

    /// The one line a run prints when it stopped after `signal` with its checkpoint of `step` in
    /// `path`; `resume` says how to continue ("--resume auto").
    public static func story(signal: Int32, step: Int, path: String, resume: String) -> String {
        let saved = "checkpoint saved at step \(step) in \(path)"
        if isInterrupt(signal) { return "interrupted by \(name(signal)): \(saved); continue with \(resume) (exit status \(exitStatus(after: signal)))" }
        return "preempted by \(name(signal)): \(saved); exit status \(exitStatus) so that the job is requeued (continue with \(resume))"
    }

    /// The file rank 0 writes in `logging.run_dir` once a preemption checkpoint is complete: one line,
    /// `preempted at step N: …` (the story). A job script whose launcher cannot pass the ranks' status
    /// on (mpirun answers its own SIGTERM by aborting with status 1) removes it before starting the
    /// job and turns a failed status into 75 when the job left it; `pretrain launch` does so itself.
    /// Every training run removes a stale one at start-up.
    public static func markerPath(runDir: String) -> String { runDir + "/preempted" }

    /// The step the marker in `runDir` names, or nil when there is none (or it is not one).
    public static func markedStep(runDir: String) -> Int? {
        guard let text = try? String(contentsOfFile: markerPath(runDir: runDir), encoding: .utf8),
              let rest = text.split(separator: "\n").first?.split(separator: ":").first?.split(separator: " ").last else { return nil }
        return Int(rest)
    }

    /// Writes the marker for a preemption checkpoint of `step` (rank 0, after the checkpoint is committed).
    static func writeMarker(runDir: String, step: Int, story: String) throws {
        try FileManager.default.createDirectory(atPath: runDir, withIntermediateDirectories: true)
        try AtomicFile.write(Array("preempted at step \(step): \(story)\n".utf8), to: markerPath(runDir: runDir))
    }

    /// Removes a marker left by an earlier run in `runDir`.
    public static func removeMarker(runDir: String) { unlink(markerPath(runDir: runDir)) }

    /// The signal received (0: none). Written by the handler, read once per step.
    nonisolated(unsafe) static let storage: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// When the first signal came (CLOCK_MONOTONIC nanoseconds). Written by the handler.
    nonisolated(unsafe) static let firstAt: UnsafeMutablePointer<Int64> = {
        let p = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Signals within this many seconds of the first are the same stop arriving by several ways, not
    /// a second one: a scheduler that signals every process of a job reaches a rank directly, through
    /// mpirun's abort (its SIGTERM to every rank) and through `pretrain launch` (SIGUSR1) at once.
    public static let repeatWindow = 1.0

    /// Installs the handlers (idempotent).
    public static func install() {
        _ = storage  // initialise before any handler can run
        _ = firstAt
        for sig in [SIGTERM, SIGUSR1, SIGINT, SIGUSR2] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                // Async-signal-safe only: clock_gettime, loads and stores, _exit.
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                let nanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
                let flag = PreemptionFlag.storage
                if flag.pointee != 0 {
                    if nanoseconds - PreemptionFlag.firstAt.pointee >= Int64(PreemptionFlag.repeatWindow * 1e9) { _exit(128 + sig) }
                    return
                }
                PreemptionFlag.firstAt.pointee = nanoseconds
                flag.pointee = sig
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
    }

    /// The signal received so far, or 0.
    public static var signal: Int32 { storage.pointee }

    /// Clears the flag (tests).
    public static func reset() { storage.pointee = 0 }

    /// Sets the flag as a signal would (tests, and callers that learn of a preemption otherwise).
    public static func raise(_ sig: Int32 = SIGTERM) { storage.pointee = sig }
}
