/// How one optimizer step's sequences are split over the ranks: sequences per rank per micro-step
/// (`training.micro_batch`) and micro-steps per rank per step (gradient accumulation).
///
/// When `training.global_batch` is set it is kept exactly: if ranks × micro_batch does not divide it,
/// the plan lowers micro_batch to the largest value that does (and raises the accumulation to match)
/// and says so in one notice, as `mpirun -n 4` on a 2-rank config needs; a
/// `gradient_accumulation_steps` other than 1 that does not make the global batch is replaced the
/// same way, with a notice. Only a global batch that does not split evenly over the ranks at all is
/// an error.
public struct BatchPlan: Equatable, Sendable {
    /// Sequences per rank per forward/backward.
    public var microBatch: Int
    /// Micro-batches per rank per optimizer step.
    public var accumulation: Int
    /// One line saying what changed from the config (nil when the config's micro_batch is used).
    public var notice: String?

    public init(microBatch: Int, accumulation: Int, notice: String? = nil) {
        self.microBatch = microBatch
        self.accumulation = accumulation
        self.notice = notice
    }

    /// The largest micro-batch ≤ `microBatch` with micro-batch × accumulation × `worldSize` =
    /// `globalBatch`, and that accumulation; nil when `globalBatch` does not divide by `worldSize`.
    public static func proposal(globalBatch: Int, microBatch: Int, worldSize: Int) -> (microBatch: Int, accumulation: Int)? {
        guard globalBatch > 0, worldSize > 0, microBatch > 0, globalBatch % worldSize == 0 else { return nil }
        let perRank = globalBatch / worldSize
        let micro = (1...min(microBatch, perRank)).last { perRank % $0 == 0 } ?? 1
        return (micro, perRank / micro)
    }

    /// The plan for `config` on `worldSize` ranks; `origin` names the config in the error.
    public static func resolve(_ config: RunConfig, worldSize: Int, origin: String = "config") throws -> BatchPlan {
        let t = config.training
        guard t.globalBatch > 0 else { return BatchPlan(microBatch: t.microBatch, accumulation: t.gradientAccumulationSteps) }
        guard let (micro, accumulation) = proposal(globalBatch: t.globalBatch, microBatch: t.microBatch, worldSize: worldSize) else {
            let below = t.globalBatch / worldSize * worldSize
            let examples = (below > 0 ? [below] : []) + [below + worldSize]
            throw ConfigError("\(origin): training.global_batch \(t.globalBatch) does not split evenly over \(worldSize) processes; "
                              + "use a multiple of \(worldSize) (e.g. \(examples.map(String.init).joined(separator: " or ")))")
        }
        guard micro != t.microBatch else {
            // An accumulation given beside global_batch that does not make it: global_batch wins, said once.
            let given = t.gradientAccumulationSteps
            guard given != 1, given != accumulation else { return BatchPlan(microBatch: micro, accumulation: accumulation) }
            return BatchPlan(microBatch: micro, accumulation: accumulation, notice:
                "training.gradient_accumulation_steps \(given) → \(accumulation), so that training.global_batch \(t.globalBatch) = \(micro) × "
                + "\(accumulation) × \(worldSize) processes; set training.global_batch to \(micro * given * worldSize) (or 0) to accumulate \(given)")
        }
        return BatchPlan(microBatch: micro, accumulation: accumulation, notice:
            "training.micro_batch \(t.microBatch) → \(micro) with \(accumulation) accumulation step(s), so that training.global_batch "
            + "\(t.globalBatch) splits over \(worldSize) processes (\(micro) × \(accumulation) × \(worldSize)); set training.micro_batch to choose")
    }
}

extension RunConfig {
    /// This config with `training.micro_batch` and `training.gradient_accumulation_steps` as `BatchPlan`
    /// resolves them for `worldSize` ranks, and the plan's notice.
    public func resolvingBatch(worldSize: Int, origin: String = "config") throws -> (config: RunConfig, notice: String?) {
        let plan = try BatchPlan.resolve(self, worldSize: worldSize, origin: origin)
        var c = self
        c.training.microBatch = plan.microBatch
        c.training.gradientAccumulationSteps = plan.accumulation
        return (c, plan.notice)
    }
}
