import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Support

/// The data-parallel training loop: every rank holds a full replica, reads its slice of each global
/// batch, and takes the same AdamW step on gradients averaged across ranks.
///
/// Per optimizer step: `A` micro-batches of forward + backward (gradients accumulate locally in
/// `Float`; nothing is sent before the last one), then the gradient synchronisation
/// (`GradientAllreducer`: buckets overlapped with the last backward, or one allreduce right after
/// it; `TrainerOptions.automaticOverlap` picks by the machine's shape), then global-norm clipping,
/// the learning-rate schedule and AdamW. Backward is scaled by 1/(A·N) so that a plain sum across the
/// N ranks yields the average: no extra pass over the buffer after the transport. With ZeRO-1 the
/// moments are sharded: gradients are reduce-scattered, each rank updates its pieces of the flat
/// buffer (`ZeroShards`), and parameters are all-gathered. With `training.grad_compression: bf16` gradients travel
/// as bfloat16 (see `GradientCompression`). This is the only place that wires the model, data,
/// communicator and config together; it reports through `TrainingEvent`s and never prints.
public final class Trainer {
    /// The run's config (identical on every rank: checked at start).
    public let config: RunConfig
    /// The communicator the ranks synchronise through.
    public let comm: any Communicator
    /// This rank's replica (a `GPT` or a `BERT`, per `model.arch`).
    public let model: any LanguageModel
    /// AdamW over the parameters this rank updates: one for the whole buffer, or one per owned piece
    /// under ZeRO-1.
    public let optimizers: [Optimizer]
    /// Micro-batches per rank per optimizer step.
    public let accumulationSteps: Int
    /// Compute threads of this rank.
    public let threads: Int
    /// How this trainer runs (schedule, benchmark switches, injected faults).
    public let options: TrainerOptions
    /// The gradient wire format.
    public let compression: GradientCompression
    /// Whether gradient buckets are sent during backward (else the whole gradient after it).
    public let overlapsCommunication: Bool
    /// Whether the last backward of a step hands back the token-embedding rows (`TokenEmbeddingRows`)
    /// so that the tied table's dense gradient travels during backward, and the rows are summed
    /// across ranks afterwards (`SparseRowReducer`). Chosen when overlapping or summing progressively on several ranks
    /// and the ranks' rows together are no bigger than the table (`ranks × micro_batch × seq_len ≤
    /// vocab_size`) or `TrainerOptions.deferTokenEmbedding` says so; otherwise the table is sent
    /// with its rows added, after backward, with the embeddings' other gradients.
    public let defersTokenEmbedding: Bool
    /// Optimizer steps completed.
    public internal(set) var step = 0
    /// Checkpoint saves of this run (Checkpointing.swift); nil until the first save or resume.
    var checkpointSession: CheckpointSession?
    /// The Chrome-trace recorder when `logging.timeline` is on (<run_dir>/timeline/rank-NNNNN.json);
    /// checkpoint saves record `checkpoint write` / `checkpoint commit` in it (Checkpointing.swift).
    public let timeline: Timeline?

    let events: (TrainingEvent) -> Void
    /// The model's forward for the configured objective (clm or mlm).
    private let objective: any PretrainingObjective
    let train: DistributedDataLoader
    private let val: DistributedDataLoader?
    private let schedule: LRSchedule
    private let allreducer: GradientAllreducer?
    /// How gradients are combined across ranks, in words ("" on one rank or without synchronisation).
    public var gradientSyncName: String {
        guard comm.size > 1, synchronizing else { return "" }
        if zero != nil { return "ZeRO-1: gradients reduce-scattered after backward" }
        guard let allreducer else { return "" }
        let apart = defersTokenEmbedding ? " (token-embedding rows apart)" : ""
        if allreducer.overlapsBackward { return "gradients summed during backward" + apart }
        return allreducer.reducesProgressively ? "gradients summed after backward, progressively" + apart : "gradients summed after backward"
    }
    /// Whether gradients are summed after backward by a `ProgressiveSum` (ranks on one host): the rank
    /// that finishes backward first sums what the others have finished while they compute.
    public var reducesProgressively: Bool { allreducer?.reducesProgressively ?? false }
    /// Benchmarks only (`bench scaling --paired-progressive`): false makes the next steps sum after
    /// backward with one plain call where they would sum progressively. Set it between steps, the
    /// same on every rank.
    public var progressiveSumEnabled: Bool {
        get { allreducer?.progressiveEnabled ?? false }
        set { allreducer?.progressiveEnabled = newValue }
    }
    /// Sums the deferred token-embedding rows across ranks (when `defersTokenEmbedding`).
    private let embeddingRows: SparseRowReducer?
    /// `allreducer.markReady`, bound once (a method reference made per step would allocate).
    private let onReady: ((Range<Int>) -> Void)?
    let zero: ZeroShards?
    /// Muon's matrices shared out between the ranks (synchronised steps of a multi-rank muon run).
    public let muonShare: MuonShare?
    private let peakFLOPS: Double
    private let flopsPerToken: Double
    /// One-element scratch for the loss average and the squared-norm sum (no per-step arrays).
    private let lossScratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: 1)
    private let normScratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: 1)
    var badSteps = 0

    /// Whether this trainer exchanges anything per step.
    private var synchronizing: Bool { comm.size > 1 && options.synchronize }

    /// Sets up a run: validates the config against the world size, checks that every rank has the same
    /// config, builds the model with identical weights on every rank, and opens the data.
    public init(config: RunConfig, comm: any Communicator, threads: Int? = nil, measurePeak: Bool = false,
                options: TrainerOptions = TrainerOptions(), events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        // micro_batch follows the global batch on this many ranks (a notice says when it changed).
        let resolved: (config: RunConfig, notice: String?)
        do { resolved = try config.resolvingBatch(worldSize: comm.size) } catch let e as ConfigError {
            throw TrainingError(e.message)
        }
        if let notice = resolved.notice { events(.warning(notice)) }
        let config = resolved.config
        self.config = config
        self.comm = comm
        self.events = events
        var options = options
        if let threads { options.threads = threads }
        if measurePeak { options.measurePeak = true }
        self.options = options
        let world = comm.size
        accumulationSteps = config.training.gradientAccumulationSteps
        switch config.training.gradCompression {
        case .none: compression = .none
        case .bf16: compression = .bf16
        }
        try Self.checkSameConfig(config, comm: comm)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.threads = options.threads ?? (config.launch.threadsPerProcess > 0 ? config.launch.threadsPerProcess : max(1, cores / max(1, comm.localSize)))
        Parallel.setThreads(self.threads)
        let bf16 = try Self.mixedPrecision(config)
        peakFLOPS = options.measurePeak ? (bf16?.measurePeakGFLOPS() ?? BLASRuntime.measurePeakGFLOPS()) * 1e9 : 0

        let t = config.training
        let family = ModelFamilies.family(of: config)
        do {
            if !config.data.tokenizer.isEmpty, FileManager.default.fileExists(atPath: config.data.tokenizer) {
                try HuggingFaceTokenizer.load(from: config.data.tokenizer).checkFits(modelVocabularySize: config.model.vocabSize)
            }
            let data = try family.tokenShards(config, rank: comm.rank)
            if let notice = data.notice, comm.rank == 0 { events(.warning(notice)) }
            train = try DistributedDataLoader(location: data.train, split: "train", microBatch: t.microBatch, sequenceLength: family.loaderSequenceLength(config),
                                              rank: comm.rank, worldSize: world, shuffle: config.data.shuffle, seed: UInt64(t.seed),
                                              modelVocabularySize: config.model.vocabSize)
            val = data.val.isEmpty ? nil : try DistributedDataLoader(
                location: data.val, split: "val", microBatch: t.microBatch, sequenceLength: family.loaderSequenceLength(config), rank: comm.rank,
                worldSize: world, shuffle: false, seed: 0, modelVocabularySize: config.model.vocabSize)
        } catch let error as DataError {
            throw TrainingError("\(error)")
        }
        let globalBatch = t.microBatch * accumulationSteps * world
        if train.sequencesPerEpoch < world * t.microBatch {
            throw TrainingError("\(config.data.train) holds \(train.sequencesPerEpoch) sequences of \(t.seqLen + 1) tokens, fewer than \(world) ranks × micro_batch \(t.microBatch); add data, or lower training.micro_batch or training.seq_len")
        }

        try family.checkPretrainingHeads(config)
        // Allocation failures (memory the plan expected but the system refused) are agreed on, so no
        // rank waits in a collective for one that failed.
        objective = try MemoryPlan.agreeing(config, comm: comm) { try family.pretrainingObjective(config) }
        model = objective.model
        // Rank 0's weights are the run's: broadcast them, then prove every replica holds them.
        try comm.broadcast(model.params.buffer, root: 0)
        try Self.verifySameParameters(model.params, comm: comm, step: 0)

        let count = model.layout.count
        try model.useBF16(bf16)
        flopsPerToken = family.flopsPerToken(config, parameters: count)
        overlapsCommunication = options.overlapCommunication
            ?? TrainerOptions.automaticOverlap(ranks: world, localRanks: comm.localSize, threadsPerRank: self.threads, cores: cores)
        let bucket = max(1, Int(t.bucketMB * 1_048_576) / MemoryLayout<Float>.stride)
        let layout = model.layout, compression = compression, rank = comm.rank
        if world > 1, t.zero1 {
            if config.optimizer.kind == .muon {
                throw TrainingError("optimizer.kind: muon does not combine with training.zero1: true (Muon orthogonalises whole matrices, ZeRO-1 splits them between ranks); set training.zero1: false or optimizer.kind: adamw", exitCode: 2)
            }
            let z = try MemoryPlan.agreeing(config, comm: comm) {
                try ZeroShards(count: count, ranks: world, rank: rank, chunkElements: bucket, compression: compression)
            }
            zero = z
            muonShare = nil
            let pieces = z.owned.filter { !$0.isEmpty }
            optimizers = try MemoryPlan.agreeing(config, comm: comm) {
                try (pieces.isEmpty ? [0..<0] : pieces).map { try Optimizer(layout: layout, settings: config.optimizer, shard: $0) }
            }
            allreducer = nil
            onReady = nil
            embeddingRows = nil
            defersTokenEmbedding = false
        } else {
            zero = nil
            let optimizer = try MemoryPlan.agreeing(config, comm: comm) { try Optimizer(layout: layout, settings: config.optimizer) }
            optimizers = [optimizer]
            muonShare = world > 1 && !optimizer.matrices.isEmpty
                ? try MemoryPlan.agreeing(config, comm: comm) { try MuonShare(matrices: optimizer.matrices, rank: rank, size: world) } : nil
            // Buckets exist to start sending before backward ends; after backward, one call over the
            // whole buffer is what MPI_Allreduce does best (no per-call start-up, no skew per bucket).
            let overlap = overlapsCommunication
            let (grads, wire, group) = (model.grads.pointer, compression, comm)
            func makeReducer(boundaries: [Int]) throws -> GradientAllreducer? {
                world > 1 ? try MemoryPlan.agreeing(config, comm: comm) {   // bf16: a side buffer of half the gradients
                    try GradientAllreducer(comm: group, buffer: grads, count: count, bucketElements: overlap ? bucket : max(1, count),
                                           boundaries: boundaries, compression: wire, overlapsBackward: overlap, op: .sum)
                } : nil
            }
            // The token-embedding table is final right after the head but for its lookup rows: when
            // gradients leave during backward (overlapped buckets) or are summed as backward finishes
            // them (the progressive sum), the table goes early and the rows are summed apart.
            let rowsPerRank = model.deferrableEmbeddingRows   // B·T lookups (GPT), B·(S + T) (T5)
            func deferring(_ table: Range<Int>?) -> Bool {
                table.map { options.deferTokenEmbedding ?? (world * rowsPerRank <= $0.count / config.model.dModel) } ?? false
            }
            let reducer: GradientAllreducer?
            let defers: Bool
            if overlap {
                let table = world > 1 ? model.deferrableEmbeddingRange : nil
                defers = deferring(table)
                reducer = try makeReducer(boundaries: defers ? [table!.lowerBound, table!.upperBound] : [])
            } else {
                reducer = try makeReducer(boundaries: [])
                defers = reducer?.reducesProgressively == true && deferring(model.deferrableEmbeddingRange)
            }
            defersTokenEmbedding = defers
            embeddingRows = defers ? SparseRowReducer(comm: comm, maxRows: rowsPerRank, width: config.model.dModel) : nil
            allreducer = reducer
            onReady = reducer.flatMap { $0.overlapsBackward || $0.reducesProgressively ? $0.markReady : nil }
        }
        let lr = config.optimizer.lr
        switch config.schedule.kind {
        case .constant: schedule = .constant(lr: lr)
        case .noam: schedule = .noam(dModel: config.model.dModel, warmup: max(1, config.schedule.warmupSteps), scale: config.schedule.noamScale)
        case .cosine: schedule = .warmupCosine(lr: lr, warmup: config.schedule.warmupSteps, total: t.steps, minLR: lr * config.schedule.minLRRatio)
        }
        if config.logging.timeline {
            let path = config.logging.runDir + String(format: "/timeline/rank-%05d.json", comm.rank)
            do { timeline = try Timeline(path: path, rank: comm.rank) } catch let e as ModelError { throw TrainingError(e.message) }
        } else {
            timeline = nil
        }
        model.timeline = timeline
        if let timeline {
            allreducer?.onBucketFinished = { index, range, launched, started, finished in
                timeline.record(.allreduceBucket, index: index, start: started, end: finished, thread: 1, range: range, extra: launched)
            }
        }
        if options.checkpoints {
            if comm.rank == 0 { PreemptionFlag.removeMarker(runDir: config.logging.runDir) }
            // The checkpoint staging buffer (this rank's share of parameters and moments, part of the
            // memory plan) is allocated now with the rest, so that a refusal is agreed on as theirs are,
            // not a mid-run error that ends the job through MPI_Abort at the first save.
            _ = try MemoryPlan.agreeing(config, comm: comm) { try session() }
        }
        events(.started(RunInfo(rank: comm.rank, worldSize: world, threads: self.threads, parameters: count,
                                accumulationSteps: accumulationSteps, tokensPerStep: globalBatch * t.seqLen,
                                trainSequences: train.sequencesPerEpoch, resolvedConfig: ConfigLoader.render(config),
                                backend: comm.backendName, precision: Self.precisionName(bf16, config),
                                gradientSync: gradientSyncName)))
        if let bf16, bf16.path == .emulated, comm.rank == 0 {
            events(.warning(Self.emulationNotice(bf16)))
        }
    }

    deinit {
        timeline?.close()
        lossScratch.deallocate()
        normScratch.deallocate()
    }

    /// Runs the configured number of steps (from the current step) and evaluates as configured.
    @discardableResult
    public func run() throws -> RunSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        var last = StepMetrics(step: 0, loss: .nan, lr: 0, gradNorm: 0, tokensPerSecond: 0, mfu: 0, stepSeconds: 0,
                               computeSeconds: 0, commSeconds: 0, exposedCommSeconds: 0, skipped: false)
        var lastVal: Float?
        var preempted = false, stopSignal: Int32 = 0
        while step < config.training.steps {
            last = try trainStep()
            events(.step(last))
            let interval = config.training.evalInterval
            if val != nil, (interval > 0 && step % interval == 0) || step == config.training.steps {
                let loss = try evaluate()
                lastVal = loss
                events(.eval(EvalMetrics(step: step, loss: loss, scope: evalScope)))
            }
            stopSignal = try checkpointBoundary()
            if stopSignal != 0 { preempted = true; break }
        }
        if !preempted { try finishCheckpoints() }
        let summary = RunSummary(steps: step, finalLoss: last.loss, finalValLoss: lastVal,
                                 seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, preempted: preempted, signal: stopSignal)
        timeline?.close()
        events(.finished(summary))
        return summary
    }

    /// One optimizer step over the global batch; returns its metrics.
    /// `exchange: false` (benchmarks only) runs this one step as `TrainerOptions.synchronize = false`
    /// would: nothing is sent, each rank updates its own replica.
    public func trainStep(exchange: Bool = true) throws -> StepMetrics {
        let t0 = DispatchTime.now().uptimeNanoseconds
        options.fault?.strike(rank: comm.rank, step: step + 1)
        let B = config.training.microBatch, T = config.training.seqLen
        let syncing = synchronizing && exchange
        objective.training = true
        model.zeroGrad()
        var lossSum: Float = 0
        var deferredRows: TokenEmbeddingRows?
        // Pre-scaled so that summing over ranks averages: 1/A for the micro-batches, 1/N for the ranks.
        let scale = 1 / Float(accumulationSteps * (syncing ? comm.size : 1))
        for micro in 0..<accumulationSteps {
            try train.next()
            lossSum += try objective.forward(train, dropoutSeed: dropoutSeed(step: step, micro: micro))
            if micro == accumulationSteps - 1, syncing, let allreducer {
                allreducer.begin()
                // A bench may turn the progressive sum off for a step: the rows then stay in the table.
                let deferring = embeddingRows != nil && (allreducer.overlapsBackward || allreducer.reducesProgressively)
                deferredRows = model.backward(lossScale: scale, onReady: onReady, deferringTokenEmbedding: deferring)
            } else {
                model.backward(lossScale: scale, onReady: nil)
            }
        }
        var sync = StepSync()
        if syncing, let allreducer {
            let waitStart = Timeline.now()
            sync.add(try allreducer.finish())
            if let rows = deferredRows, let embeddingRows, let table = model.deferrableEmbeddingRange {
                // The dense table is reduced; add every rank's lookup rows to it, in rank order.
                try sync.timeGradientBlocking(bytes: rows.count * (rows.width + 1) * 4) {
                    try embeddingRows.reduce(rowIndices: rows.tokens, rows: rows.rows, count: rows.count,
                                             into: model.grads.pointer + table.lowerBound, tableRows: table.count / rows.width)
                }
            }
            timeline?.record(.gradientSyncWait, start: waitStart)
        }

        lossScratch[0] = lossSum / Float(accumulationSteps)
        if syncing, options.fault?.skipsLossAllreduce(rank: comm.rank, step: step + 1) != true {
            try sync.timeBlocking { try comm.allreduce(lossScratch, op: .average) }
        }
        let loss = lossScratch[0]

        let gradNorm: Double
        if syncing, let zero {
            let waitStart = Timeline.now()
            sync.add(try zero.reduceScatter(model.grads, comm: comm))
            timeline?.record(.gradientSyncWait, start: waitStart)
            normScratch[0] = zero.sumOfSquares(model.grads)
            try sync.timeBlocking { try comm.allreduce(normScratch, op: .sum) }
            gradNorm = normScratch[0].squareRoot()
        } else {
            gradNorm = Optimizer.gradNorm(model.grads)
        }
        let skipped = !loss.isFinite || !gradNorm.isFinite
        let lr = schedule.rate(at: step + 1)
        if skipped {
            badSteps += 1
            events(.warning("step \(step + 1): loss \(loss), gradient norm \(gradNorm): not finite, update skipped (\(badSteps) in a row)"))
            if badSteps >= config.training.maxBadSteps {
                throw TrainingError("\(badSteps) consecutive steps had a non-finite loss or gradient norm; lower optimizer.lr or enable optimizer.grad_clip (training.max_bad_steps is \(config.training.maxBadSteps))")
            }
        } else {
            badSteps = 0
            let clip = optimizers[0].clipScale(gradNorm: gradNorm)
            let optimizerStart = Timeline.now()
            let share = syncing ? muonShare : nil
            for optimizer in optimizers {
                optimizer.step(params: model.params, grads: model.grads, lr: lr, gradScale: clip, bf16: model.bf16, muonShare: share?.owned)
            }
            timeline?.record(.optimizerStep, start: optimizerStart)
            if let share {
                try sync.timeBlocking { try share.exchange(model.params, comm: comm, bf16: model.bf16) }
            }
            if syncing, let zero {
                try sync.timeBlocking { try zero.allgather(model.params, comm: comm) }
                model.bf16?.refreshWeights()   // the other ranks' pieces arrived in fp32
            }
        }
        step += 1
        if syncing, config.training.checksumInterval > 0, step % config.training.checksumInterval == 0 {
            try sync.timeBlocking { try Self.verifySameParameters(model.params, comm: comm, step: step) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let tokens = Double(B * T * accumulationSteps * comm.size)
        let mfu = peakFLOPS > 0 ? tokens / seconds * flopsPerToken / (peakFLOPS * Double(comm.size)) : 0
        var metrics = StepMetrics(step: step, loss: loss, lr: lr, gradNorm: gradNorm, tokensPerSecond: tokens / seconds, mfu: mfu,
                                  stepSeconds: seconds, computeSeconds: max(0, seconds - sync.exposedSeconds),
                                  commSeconds: sync.communicationSeconds, exposedCommSeconds: sync.exposedSeconds, skipped: skipped)
        metrics.gradientSyncSeconds = sync.gradientSeconds
        metrics.gradientSyncBytes = sync.gradientBytes
        if let timeline {
            timeline.record(.step, start: t0, extra: UInt64(step))
            timeline.flush()
        }
        return metrics
    }

    /// The seed of the dropout masks of micro-batch `micro` of `step` on this rank.
    func dropoutSeed(step: Int, micro: Int) -> UInt64 {
        UInt64(config.training.seed) &* 0x9E37_79B9 &+ UInt64(step) &* 1_000_003 &+ UInt64(micro * comm.size + comm.rank) &* 7919
    }

    /// What `evaluate()` reads, for the eval line: the first training.eval_steps rounds of ranks ×
    /// micro-batch sequences of data.val (in order, the same every time), and for a GPT the
    /// `pretrain eval` that repeats it on a checkpoint (which by default reads every round instead).
    var evalScope: String {
        let rounds = config.training.evalSteps, sequences = config.training.microBatch * comm.size
        let again = config.family.arch == .gpt ? "; `pretrain eval --batches \(rounds) --micro-batch \(sequences)` repeats it" : ""
        return "first \(rounds) × \(sequences) sequences of data.val\(again)"
    }

    /// Mean loss over `training.eval_steps` validation batches, averaged over ranks.
    public func evaluate() throws -> Float {
        guard let val else { return .nan }
        objective.training = false
        let evalStart = Timeline.now()
        defer {
            objective.training = true
            timeline?.record(.eval, start: evalStart)
        }
        val.reset()
        var sum: Double = 0
        for _ in 0..<config.training.evalSteps {
            try val.next()
            sum += Double(try objective.forward(val, dropoutSeed: dropoutSeed(step: 0, micro: 0)))
        }
        var mean = [sum / Double(config.training.evalSteps)]
        if comm.size > 1 { try mean.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .average) } }
        return Float(mean[0])
    }
}
