import Config
import Data
import Distributed
import Foundation
import Kernels
import Model

/// The data-parallel training loop: every rank holds a full replica, reads its slice of each global
/// batch, and takes the same AdamW step on gradients averaged across ranks.
///
/// Per optimizer step: `A` micro-batches of forward + backward (gradients accumulate locally; nothing
/// is sent before the last one), then on the last backward the bucketed allreduce runs behind it
/// (`GradientAllreducer`), then global-norm clipping, the learning-rate schedule and AdamW. With
/// ZeRO-1 the moments are sharded: gradients are reduce-scattered, each rank updates its range of
/// the flat buffer, and parameters are all-gathered. This is the only place that wires the model,
/// data, communicator and config together; it reports through `TrainingEvent`s and never prints.
public final class Trainer {
    public let config: RunConfig
    public let comm: any Communicator
    public let model: GPT
    public let optimizer: AdamWOptimizer
    /// Micro-batches per rank per optimizer step.
    public let accumulationSteps: Int
    /// Compute threads of this rank.
    public let threads: Int
    /// Optimizer steps completed.
    public private(set) var step = 0

    private let events: (TrainingEvent) -> Void
    private let train: DistributedDataLoader
    private let val: DistributedDataLoader?
    private let schedule: LRSchedule
    private let allreducer: GradientAllreducer?
    private let zeroShards: [Range<Int>]?
    private let zeroScratch: FlatBuffer?
    private let peakFLOPS: Double
    private var badSteps = 0

    /// Sets up a run: validates the config against the world size, checks that every rank has the same
    /// config, builds the model with identical weights on every rank, and opens the data.
    public init(config: RunConfig, comm: any Communicator, threads: Int? = nil, measurePeak: Bool = false,
                events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        self.config = config
        self.comm = comm
        self.events = events
        let world = comm.size
        do { accumulationSteps = try ConfigLoader.accumulationSteps(config, worldSize: world) } catch let e as ConfigError {
            throw TrainingError(e.message)
        }
        try Self.checkSameConfig(config, comm: comm)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.threads = threads ?? (config.launch.threadsPerProcess > 0 ? config.launch.threadsPerProcess : max(1, cores / max(1, comm.localSize)))
        Parallel.setThreads(self.threads)
        peakFLOPS = measurePeak ? BLASRuntime.measurePeakGFLOPS() * 1e9 : 0

        let t = config.training
        do {
            if !config.data.tokenizer.isEmpty, FileManager.default.fileExists(atPath: config.data.tokenizer) {
                try Tokenizer.load(from: config.data.tokenizer).checkFits(modelVocabularySize: config.model.vocabSize)
            }
            train = try DistributedDataLoader(location: config.data.train, split: "train", microBatch: t.microBatch, sequenceLength: t.seqLen,
                                              rank: comm.rank, worldSize: world, shuffle: config.data.shuffle, seed: UInt64(t.seed),
                                              modelVocabularySize: config.model.vocabSize)
            val = config.data.val.isEmpty ? nil : try DistributedDataLoader(
                location: config.data.val, split: "val", microBatch: t.microBatch, sequenceLength: t.seqLen, rank: comm.rank,
                worldSize: world, shuffle: false, seed: 0, modelVocabularySize: config.model.vocabSize)
        } catch let error as DataError {
            throw TrainingError("\(error)")
        }
        let globalBatch = t.microBatch * accumulationSteps * world
        if train.sequencesPerEpoch < world * t.microBatch {
            throw TrainingError("\(config.data.train) holds \(train.sequencesPerEpoch) sequences of \(t.seqLen + 1) tokens, fewer than \(world) ranks × micro_batch \(t.microBatch); add data, or lower training.micro_batch or training.seq_len")
        }
        _ = globalBatch

        do { model = try GPT(config: config.model, maxBatch: t.microBatch, maxSeqLen: t.seqLen) } catch let e as ModelError {
            throw TrainingError(e.message)
        }
        model.initializeWeights(seed: UInt64(t.seed))
        // Rank 0's weights are the run's: broadcast them, then prove every replica holds them.
        try comm.broadcast(model.params.buffer, root: 0)
        try Self.verifySameParameters(model.params, comm: comm, step: 0)

        let count = model.layout.count
        if world > 1, t.zero1 {
            let shards = Self.evenShards(count: count, parts: world)
            zeroShards = shards
            zeroScratch = FlatBuffer(count: shards.map(\.count).max() ?? 0)
            optimizer = AdamWOptimizer(layout: model.layout, settings: config.optimizer, shard: shards[comm.rank])
            allreducer = nil
        } else {
            zeroShards = nil
            zeroScratch = nil
            optimizer = AdamWOptimizer(layout: model.layout, settings: config.optimizer)
            let bucket = max(1, Int(t.bucketMB * 1_048_576) / MemoryLayout<Float>.stride)
            allreducer = world > 1 ? GradientAllreducer(comm: comm, buffer: model.grads.pointer, count: count, bucketElements: bucket) : nil
        }
        let lr = config.optimizer.lr
        switch config.schedule.kind {
        case "constant": schedule = .constant(lr: lr)
        case "noam": schedule = .noam(dModel: config.model.dModel, warmup: max(1, config.schedule.warmupSteps), scale: config.schedule.noamScale)
        default: schedule = .warmupCosine(lr: lr, warmup: config.schedule.warmupSteps, total: t.steps, minLR: lr * config.schedule.minLRRatio)
        }
        events(.started(RunInfo(rank: comm.rank, worldSize: world, threads: self.threads, parameters: count,
                                accumulationSteps: accumulationSteps, tokensPerStep: globalBatch * t.seqLen,
                                trainSequences: train.sequencesPerEpoch, resolvedConfig: ConfigLoader.render(config),
                                backend: comm.backendName)))
    }

    /// Splits `count` elements into `parts` contiguous ranges of nearly equal size (multiples of 16).
    public static func evenShards(count: Int, parts: Int) -> [Range<Int>] {
        let per = ((count + parts - 1) / parts + 15) / 16 * 16
        return (0..<parts).map { min(count, $0 * per)..<min(count, ($0 + 1) * per) }
    }

    /// Runs the configured number of steps (from the current step) and evaluates as configured.
    @discardableResult
    public func run() throws -> RunSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        var last = StepMetrics(step: 0, loss: .nan, lr: 0, gradNorm: 0, tokensPerSecond: 0, mfu: 0, stepSeconds: 0,
                               computeSeconds: 0, commSeconds: 0, exposedCommSeconds: 0, skipped: false)
        var lastVal: Float?
        while step < config.training.steps {
            last = try trainStep()
            events(.step(last))
            let interval = config.training.evalInterval
            if val != nil, (interval > 0 && step % interval == 0) || step == config.training.steps {
                let loss = try evaluate()
                lastVal = loss
                events(.eval(EvalMetrics(step: step, loss: loss)))
            }
        }
        let summary = RunSummary(steps: step, finalLoss: last.loss, finalValLoss: lastVal,
                                 seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        events(.finished(summary))
        return summary
    }

    /// One optimizer step over the global batch; returns its metrics.
    public func trainStep() throws -> StepMetrics {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let B = config.training.microBatch, T = config.training.seqLen
        model.training = true
        model.zeroGrad()
        var lossSum: Float = 0
        let scale = 1 / Float(accumulationSteps)
        for micro in 0..<accumulationSteps {
            try train.next()
            model.dropoutSeed = UInt64(config.training.seed) &* 0x9E37_79B9 &+ UInt64(step) &* 1_000_003 &+ UInt64(micro * comm.size + comm.rank) &* 7919
            lossSum += try model.forward(tokens: train.inputs.baseAddress!, targets: train.targets.baseAddress!, B: B, T: T)
            if micro == accumulationSteps - 1, let allreducer {
                allreducer.begin()
                model.backward(lossScale: scale, onReady: allreducer.markReady)
            } else {
                model.backward(lossScale: scale)
            }
        }
        let computeEnd = DispatchTime.now().uptimeNanoseconds
        var timing = GradientAllreducer.Timing()
        if let allreducer { timing = try allreducer.finish() }
        var loss = [lossSum / Float(accumulationSteps)]
        if comm.size > 1 { try loss.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .average) } }

        let gradNorm: Double
        if let shards = zeroShards, let scratch = zeroScratch {
            let mine = shards[comm.rank]
            let counts = shards.map(\.count)
            let commStart = DispatchTime.now().uptimeNanoseconds
            try comm.reduceScatter(UnsafeBufferPointer(model.grads.buffer), into: scratch[0..<mine.count], counts: counts, op: .average)
            timing.exposedSeconds += Double(DispatchTime.now().uptimeNanoseconds - commStart) / 1e9
            // The averaged gradient of this rank's shard now sits in scratch; move it into place.
            (model.grads.pointer + mine.lowerBound).update(from: scratch.pointer, count: mine.count)
            var sq = [VectorMath.sumOfSquares(model.grads.pointer + mine.lowerBound, count: mine.count)]
            try sq.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .sum) }
            gradNorm = sq[0].squareRoot()
        } else {
            gradNorm = AdamWOptimizer.gradNorm(model.grads)
        }
        let skipped = !loss[0].isFinite || !gradNorm.isFinite
        let lr = schedule.rate(at: step + 1)
        if skipped {
            badSteps += 1
            events(.warning("step \(step + 1): loss \(loss[0]), gradient norm \(gradNorm): not finite, update skipped (\(badSteps) in a row)"))
            if badSteps >= config.training.maxBadSteps {
                throw TrainingError("\(badSteps) consecutive steps had a non-finite loss or gradient norm; lower optimizer.lr or enable optimizer.grad_clip (training.max_bad_steps is \(config.training.maxBadSteps))")
            }
        } else {
            badSteps = 0
            optimizer.step(params: model.params, grads: model.grads, lr: lr, gradScale: optimizer.clipScale(gradNorm: gradNorm))
            if let shards = zeroShards, let scratch = zeroScratch {
                let mine = shards[comm.rank]
                let commStart = DispatchTime.now().uptimeNanoseconds
                scratch.pointer.update(from: model.params.pointer + mine.lowerBound, count: mine.count)
                try comm.allgatherv(UnsafeBufferPointer(scratch[0..<mine.count]), into: model.params.buffer, counts: shards.map(\.count))
                timing.exposedSeconds += Double(DispatchTime.now().uptimeNanoseconds - commStart) / 1e9
            }
        }
        step += 1
        if config.training.checksumInterval > 0, step % config.training.checksumInterval == 0, comm.size > 1 {
            try Self.verifySameParameters(model.params, comm: comm, step: step)
        }
        let end = DispatchTime.now().uptimeNanoseconds
        let seconds = Double(end - t0) / 1e9
        let tokens = Double(B * T * accumulationSteps * comm.size)
        let flopsPerToken = 6.0 * Double(model.layout.count) + 12.0 * Double(config.model.nLayer * config.model.dModel * T)
        let mfu = peakFLOPS > 0 ? tokens / seconds * flopsPerToken / (peakFLOPS * Double(comm.size)) : 0
        return StepMetrics(step: step, loss: loss[0], lr: lr, gradNorm: gradNorm, tokensPerSecond: tokens / seconds, mfu: mfu,
                           stepSeconds: seconds, computeSeconds: Double(computeEnd - t0) / 1e9,
                           commSeconds: timing.communicationSeconds, exposedCommSeconds: timing.exposedSeconds, skipped: skipped)
    }

    /// Mean loss over `training.eval_steps` validation batches, averaged over ranks.
    public func evaluate() throws -> Float {
        guard let val else { return .nan }
        model.training = false
        defer { model.training = true }
        val.reset()
        var sum: Double = 0
        for _ in 0..<config.training.evalSteps {
            try val.next()
            sum += Double(try model.forward(tokens: val.inputs.baseAddress!, targets: val.targets.baseAddress!,
                                            B: config.training.microBatch, T: config.training.seqLen))
        }
        var mean = [sum / Double(config.training.evalSteps)]
        if comm.size > 1 { try mean.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .average) } }
        return Float(mean[0])
    }
}
