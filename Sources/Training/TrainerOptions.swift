/// How a `Trainer` runs, beyond what the config says: machine-level choices, benchmark switches and
/// test hooks. The defaults are what `pretrain train` uses, except `checkpoints`.
public struct TrainerOptions: Sendable {
    /// Compute threads of this rank (nil: `threads_per_process`, else cores on the host ÷ local ranks).
    public var threads: Int?
    /// Measure the sgemm peak at start so steps report MFU (takes about a second).
    public var measurePeak = false
    /// Send gradient buckets while backward is still running (true), or the whole gradient in one
    /// call after backward (false); nil decides with `automaticOverlap`.
    public var overlapCommunication: Bool?
    /// Benchmarks only: when false, ranks exchange nothing per step (no gradient sync, no loss
    /// average, no ZeRO-1 collectives, no checksum), so each rank trains its own replica. Measures
    /// what the same processes do without communication.
    public var synchronize = true
    /// Tests only: a fault to inject (a skipped collective, a hang, an exit).
    public var fault: TrainingFault?

    /// Save checkpoints: every `checkpoint.every` steps, at the end, and on a preemption signal
    /// (`pretrain train` turns this on; benchmarks and in-process tests leave it off).
    public var checkpoints = false

    /// The defaults.
    public init() {}

    /// Overlap only when the host has a core that no rank computes on, so the communication thread
    /// does not run on a core backward needs. On the project's 2-core machine, 2 ranks × 1 thread
    /// leave none: there the communication thread can only time-slice with backward (MPI's
    /// shared-memory transport polls while it waits), and overlapping measured no faster than one
    /// allreduce after backward, which also uses the transport at full speed (BENCHMARKS-scaling.md).
    public static func automaticOverlap(cores: Int, localRanks: Int, threadsPerRank: Int) -> Bool {
        cores > localRanks * threadsPerRank
    }
}
