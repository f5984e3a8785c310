/// What happened to a checkpoint: saved, resumed from, skipped, or the run preempted.
public struct CheckpointReport: Sendable {
    /// The kind of report.
    public enum Kind: Sendable {
        /// A checkpoint was committed (every shard written and synced, manifest in place).
        case saved
        /// The run continues from a checkpoint.
        case resumed
        /// `--resume auto` found no checkpoint: the run starts fresh.
        case fresh
        /// `--resume auto` skipped an incomplete or corrupt checkpoint (see `message`).
        case skipped
        /// A stop signal arrived (`signal`); the run saved and stops (`PreemptionFlag.exitStatus(after:)`).
        case preempted
    }

    public var kind: Kind
    /// The checkpoint's step (the step the run stopped at, for `preempted`).
    public var step: Int
    /// The checkpoint directory (or root).
    public var path: String
    /// Explanation for `skipped` and `fresh`.
    public var message = ""
    /// Bytes of all shard files, and uncompressed.
    public var storedBytes = 0, rawBytes = 0
    /// Seconds: the training loop held at the save's step boundary (copy into the staging buffer); this
    /// rank's background compression + write + fsync; the collective commit (gather, manifest, rename).
    public var stallSeconds = 0.0, writeSeconds = 0.0, commitSeconds = 0.0
    /// Ranks that wrote the checkpoint (for `resumed`: ranks that saved it).
    public var worldSize = 0
    /// For `preempted`: the signal the ranks agreed on.
    public var signal: Int32 = 0

    public init(kind: Kind, step: Int, path: String) {
        self.kind = kind
        self.step = step
        self.path = path
    }
}
