/// How a `Trainer` runs, beyond what the config says: machine-level choices, benchmark switches and
/// test hooks. The defaults are what `pretrain train` uses, except `checkpoints`.
public struct TrainerOptions: Sendable {
    /// Compute threads of this rank (nil: `threads_per_process`, else cores on the host ÷ local ranks).
    public var threads: Int?
    /// Measure the sgemm peak at start so steps report MFU (takes about a second).
    public var measurePeak = false
    /// Send gradient buckets while backward is still running (true), or the whole gradient in one
    /// call after backward (false); nil decides with `automaticOverlap(ranks:localRanks:threadsPerRank:cores:)`.
    public var overlapCommunication: Bool?
    /// With overlap or a progressive sum after backward, send the token-embedding table (GPT's tied
    /// one, T5's shared one) as soon as the head has finished it and sum the lookup rows across ranks
    /// afterwards (true), or send the table with its rows added once backward has finished it (false);
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

    /// What `nil` (`--grad-sync auto`) picks for `ranks` ranks of which `localRanks` share this host
    /// with `cores` cores, each rank computing on `threadsPerRank` threads.
    ///
    /// After backward when every rank is on this host and every core computes; overlap otherwise.
    /// Overlap pays when communication can proceed without the cores (a network moving bytes while
    /// they compute) or a core is free for the communication thread. On one host with every core
    /// busy, the single-node allreduce's copies and sums are CPU work either way: overlapped they
    /// only time-slice with backward (context switches, caches shared with the matmuls), after
    /// backward they run alone on idle cores. Measured on the project's 2-core machine, in paired
    /// synchronised/no-sync steps: after-backward 0.980× against overlap 0.968× on bench-m, 0.976×
    /// against 0.955× on bench-s (BENCHMARKS.md, "Data-parallel scaling", fifth session).
    public static func automaticOverlap(ranks: Int, localRanks: Int, threadsPerRank: Int, cores: Int) -> Bool {
        !(localRanks == ranks && localRanks * threadsPerRank >= cores)
    }
}
