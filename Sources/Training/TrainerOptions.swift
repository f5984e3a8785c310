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
    /// With overlap, send a GPT's tied token-embedding table during backward and sum the lookup rows
    /// across ranks afterwards (true), or send the table after backward with its rows added (false);
    /// nil: when the ranks' rows together are no bigger than the table (see
    /// `Trainer.defersTokenEmbedding`). Results agree to rounding: the rows are summed separately.
    public var deferTokenEmbedding: Bool?
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

    /// What `nil` (`--grad-sync auto`) picks: overlap. On the project's 2-core machine, with no core
    /// free for the communication thread, overlapping buckets with backward still beat one allreduce
    /// after backward on bench-s (all 3 rounds) and tied on bench-m, where it is the only schedule
    /// that keeps exposed communication under 5 % (BENCHMARKS.md, "Data-parallel scaling").
    public static let automaticOverlap = true
}
