import Foundation

/// Records SIGTERM, SIGUSR1 and SIGINT (Ctrl-C) for the training loop: the first one sets a flag that
/// the ranks agree on at the next step boundary (the run then saves a checkpoint and exits with status
/// 75, whichever of the three it was: the status means "saved; run me again"); a second one ends the
/// process at once with status 128 + signal, as if the signal had not been caught.
public enum PreemptionFlag {
    /// The exit status of a run that saved a checkpoint after a preemption signal and wants to be
    /// started again (EX_TEMPFAIL). `cluster/slurm.sbatch` requeues the job on it.
    public static let exitStatus: Int32 = 75

    /// The signal received (0: none). Written by the handler, read once per step.
    nonisolated(unsafe) static let storage: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()

    /// Installs the handlers (idempotent).
    public static func install() {
        _ = storage  // initialise before any handler can run
        for sig in [SIGTERM, SIGUSR1, SIGINT] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                let flag = PreemptionFlag.storage
                if flag.pointee != 0 { _exit(128 + sig) }
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
