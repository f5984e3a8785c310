import Config
import Distributed
import Foundation
import Model
import Training

/// One measured configuration of `pretrain bench scaling`: the part that runs inside every rank under
/// mpirun. It trains the preset model with the real `Trainer` on random tokens, then times a raw
/// `MPI_Allreduce` of the same number of gradient bytes in the same processes, gathers every rank's
/// numbers and prints one `SCALING {json}` line on rank 0.
public struct ScalingWorker {
    /// What to run (passed by the driver on the command line).
    var preset: any ScalingPreset
    var data: String
    /// The tokenizer the preset's training reads ("" for none).
    public var tokenizer = ""
    var steps: Int
    var warmup: Int
    var threads: Int
    /// nil: automatic, as `pretrain train`.
    var overlap: Bool?
    var synchronize: Bool
    var zero1: Bool
    var compression: GradientCompression
    /// nil: automatic, as `pretrain train`.
    var deferTokenEmbedding: Bool?
    /// Alternate synchronised and no-sync steps in this one job (`steps` of each), so that both see
    /// the same machine; ranks meet at an untimed barrier between steps.
    var paired = false
    /// With `paired`: time a raw `MPI_Allreduce` after each synchronised step.
    var pairedRaw = true
    /// Barrier (untimed) before every step, so the ranks start each step together even without sync.
    var alignSteps = false
    /// Alternate progressively summed and plainly summed synchronised steps in this one job (after
    /// backward on one host), so both see the same machine.
    public var pairedProgressive = false
    var label: String
    /// `mixed_precision` of the runs: "no" or "bf16".
    public var mixedPrecision = "no"

    public init(preset: any ScalingPreset, data: String, steps: Int, warmup: Int, threads: Int, overlap: Bool?, synchronize: Bool, zero1: Bool,
                compression: GradientCompression, deferTokenEmbedding: Bool?, paired: Bool, pairedRaw: Bool, alignSteps: Bool, label: String) {
        (self.preset, self.data, self.steps, self.warmup, self.threads, self.overlap, self.synchronize, self.zero1) =
            (preset, data, steps, warmup, threads, overlap, synchronize, zero1)
        (self.compression, self.deferTokenEmbedding, self.paired, self.pairedRaw, self.alignSteps, self.label) =
            (compression, deferTokenEmbedding, paired, pairedRaw, alignSteps, label)
    }

    /// The run config: the preset's shapes (and its tokenizer), one micro-batch per rank per step, constant learning rate,
    /// no evaluation, no checksum (benchmarks time steps, not checks).
    func config(ranks: Int) -> RunConfig {
        var c = RunConfig()
        c.launch.numProcesses = ranks
        c.launch.threadsPerProcess = threads
        preset.configure(&c)
        c.data.train = data
        c.data.val = ""
        c.data.tokenizer = tokenizer
        c.data.shuffle = true
        c.optimizer.lr = 1e-4
        c.schedule.kind = .constant
        c.training.steps = warmup + steps
        c.training.gradientAccumulationSteps = 1
        c.training.evalInterval = 0
        c.training.checksumInterval = 0
        c.training.zero1 = zero1
        c.training.gradCompression = compression == .bf16 ? .bf16 : .none
        c.launch.mixedPrecision = mixedPrecision
        c.logging.runDir = NSTemporaryDirectory() + "pretrain-bench-scaling"
        return c
    }

    /// Trains and measures in this rank; rank 0 prints the `SCALING {json}` line.
    public func run() throws {
        let comm: MPICommunicator
        do { comm = try MPICommunicator() } catch { throw BenchmarkError("cannot start MPI: \(error)") }
        defer { try? comm.shutdown() }
        var options = TrainerOptions()
        options.threads = threads
        options.measurePeak = true
        options.overlapCommunication = overlap
        options.synchronize = synchronize
        options.deferTokenEmbedding = deferTokenEmbedding
        let trainer: Trainer
        do { trainer = try Trainer(config: config(ranks: comm.size), comm: comm, options: options) } catch let e as TrainingError {
            throw BenchmarkError(e.message)
        }
        let schedule = zero1 ? "ZeRO-1 reduce-scatter after backward" : (trainer.overlapsCommunication ? "overlap" : trainer.reducesProgressively ? "after-backward, progressive" : "after-backward")
        if paired { return try runPaired(trainer, comm: comm, schedule: schedule) }
        if pairedProgressive { return try runPairedProgressive(trainer, comm: comm) }
        var metrics: [StepMetrics] = []
        var commCPU = 0.0
        for i in 0..<(warmup + steps) {
            if i == warmup { commCPU = comm.communicationThreadCPUSeconds }
            if alignSteps { try comm.barrier() }
            let m = try trainer.trainStep()
            if i >= warmup { metrics.append(m) }
        }
        commCPU = (comm.communicationThreadCPUSeconds - commCPU) / Double(steps)
        let gradientBytes = metrics.first?.gradientSyncBytes ?? 0
        let raw = try rawAllreduceSeconds(comm, bytes: gradientBytes, buffer: trainer.model.grads)

        // Per rank: median step, exposed, comm, gradient sync; tokens/s; peak RSS; then gather.
        let mine: [Double] = [
            Statistics.median(metrics.map(\.stepSeconds)), Statistics.median(metrics.map(\.exposedCommSeconds)),
            Statistics.median(metrics.map(\.commSeconds)), Statistics.median(metrics.map(\.gradientSyncSeconds)),
            Double(preset.tokensPerStep) / Statistics.median(metrics.map(\.stepSeconds)),
            Double(MemoryStats.peakResidentBytes()), Statistics.median(metrics.map(\.mfu)), Double(metrics.last?.loss ?? .nan),
            commCPU,
        ]
        let fields = mine.count
        let all = try comm.allgatherv(mine, counts: [Int](repeating: fields, count: comm.size))
        guard comm.rank == 0 else { return }
        func column(_ k: Int) -> [Double] { (0..<comm.size).map { all[$0 * fields + k] } }
        let n = Double(comm.size)
        let busFactor = comm.size > 1 ? 2 * (n - 1) / n : 1
        // The gradient sync of the rank that waited least: the others' first bucket also absorbs the
        // time until the last rank finished backward (skew, not transport).
        let syncSeconds = column(3).min() ?? 0
        var json: [String: Any] = [
            "label": label, "preset": preset.name, "ranks": comm.size, "threads": threads,
            "schedule": schedule, "transport": comm.allreduceTransport, "token_embedding_deferred": trainer.defersTokenEmbedding, "sync": synchronize, "zero1": zero1,
            "compression": compression.rawValue, "steps": steps, "warmup": warmup,
            "step_ms": column(0).map { $0 * 1000 }, "exposed_ms": column(1).map { $0 * 1000 },
            "comm_ms": column(2).map { $0 * 1000 }, "grad_sync_ms": column(3).map { $0 * 1000 },
            "tokens_per_s": column(4).reduce(0, +), "peak_rss_mb": column(5).map { $0 / 1_048_576 },
            "mfu": column(6).reduce(0, +) / n, "loss": column(7)[0], "grad_bytes": gradientBytes,
            "loadavg": Statistics.loadAverage(), "comm_thread_cpu_ms": column(8).map { $0 * 1000 },
        ]
        // A progressive sum's wait holds the slower rank's backward: no bandwidth to read from it.
        if syncSeconds > 0, gradientBytes > 0, !trainer.reducesProgressively {
            json["sync_busbw_gbs"] = Double(gradientBytes) / syncSeconds * busFactor / 1e9
        }
        if raw > 0 {
            json["raw_ms"] = raw * 1000
            json["raw_busbw_gbs"] = Double(gradientBytes) / raw * busFactor / 1e9
        }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print("SCALING " + String(decoding: data, as: UTF8.self))
        fflush(stdout)
    }

    /// The paired measurement: `warmup` pairs, then `steps` pairs of one synchronised and one no-sync
    /// step (the order alternating per pair), each starting after an untimed barrier. Per pair, job
    /// tokens/s is the sum over ranks of B·T ÷ that rank's step time, as for separate runs; the
    /// ratio synchronised ÷ no-sync is reported per pair and as the median. After each timed
    /// synchronised step a raw `MPI_Allreduce` of the step's gradient bytes is timed too (after a
    /// barrier), so the gradient sync's bus bandwidth is compared with raw pair by pair.
    func runPaired(_ trainer: Trainer, comm: MPICommunicator, schedule: String) throws {
        var synced: [Double] = [], alone: [Double] = [], gradientSync: [Double] = [], raw: [Double] = []
        for pair in 0..<(warmup + steps) {
            for k in 0..<2 {
                let exchange = (pair + k) % 2 == 0
                try comm.barrier()
                let m = try trainer.trainStep(exchange: exchange)
                guard pair >= warmup else { continue }
                if exchange {
                    synced.append(m.stepSeconds)
                    gradientSync.append(m.gradientSyncSeconds)
                    guard pairedRaw else {
                        raw.append(0)
                        continue
                    }
                    let slice = trainer.model.grads[0..<min(trainer.model.grads.count, m.gradientSyncBytes / 4)]
                    try comm.barrier()
                    let start = MPICommunicator.wallTime()
                    try comm.rawMPIAllreduce(slice, op: .sum)
                    raw.append(MPICommunicator.wallTime() - start)
                } else {
                    alone.append(m.stepSeconds)
                }
            }
        }
        let all = try comm.allgatherv(synced + alone + gradientSync + raw, counts: [Int](repeating: 4 * steps, count: comm.size))
        guard comm.rank == 0 else { return }
        let tokens = Double(preset.tokensPerStep)
        func column(_ k: Int, _ i: Int) -> [Double] { (0..<comm.size).map { all[$0 * 4 * steps + k * steps + i] } }
        let syncRates = (0..<steps).map { i in column(0, i).map { tokens / $0 }.reduce(0, +) }
        let aloneRates = (0..<steps).map { i in column(1, i).map { tokens / $0 }.reduce(0, +) }
        let ratios = zip(syncRates, aloneRates).map { $0 / $1 }
        // The lockstep ceiling: the no-sync pair with every rank held to its slowest rank's step, as
        // a synchronisation that cost nothing would run it. Its ratio to the no-sync pair is what
        // keeping in step costs on this machine; synchronised ÷ ceiling is the synchronisation's own.
        let ceilingRates = (0..<steps).map { i in Double(comm.size) * tokens / (column(1, i).max() ?? 1) }
        let ceilings = zip(ceilingRates, aloneRates).map { $0 / $1 }
        let ofCeiling = zip(syncRates, ceilingRates).map { $0 / $1 }
        // Bus bandwidth ratio = raw time ÷ sync time: the sync of the rank that waited least (the
        // others' also holds the skew of arriving first), raw of the slowest rank (a collective ends
        // when its last rank does).
        let busRatios = (0..<steps).compactMap { i -> Double? in
            let s = column(2, i).min() ?? 0, r = column(3, i).max() ?? 0
            return s > 0 && r > 0 ? r / s : nil
        }
        var json: [String: Any] = [
            "label": label, "preset": preset.name, "ranks": comm.size, "threads": threads, "schedule": schedule,
            "transport": comm.allreduceTransport, "token_embedding_deferred": trainer.defersTokenEmbedding, "paired": true,
            "steps": steps, "warmup": warmup, "tokens_per_s": Statistics.median(syncRates), "no_sync_tokens_per_s": Statistics.median(aloneRates),
            "pair_ratios": ratios, "pair_ratio_median": Statistics.median(ratios), "loadavg": Statistics.loadAverage(),
            "pair_ceiling_ratios": ceilings, "pair_of_ceiling_ratios": ofCeiling,
            // Per rank, the median step: a synchronised step runs at the slowest rank's pace.
            "step_ms": (0..<comm.size).map { q in Statistics.median((0..<steps).map { column(0, $0)[q] }) * 1000 },
            "no_sync_step_ms": (0..<comm.size).map { q in Statistics.median((0..<steps).map { column(1, $0)[q] }) * 1000 },
        ]
        if !busRatios.isEmpty {
            json["pair_busbw_ratios"] = busRatios
            json["pair_busbw_ratio_median"] = Statistics.median(busRatios)
        }
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print("SCALING " + String(decoding: data, as: UTF8.self))
        fflush(stdout)
    }

    /// `warmup` pairs, then `steps` pairs of one progressively and one plainly summed synchronised step
    /// (the order alternating per pair), each after an untimed barrier; per pair, job tokens/s as in
    /// `runPaired` and the ratio progressive ÷ plain. Exposed communication per rank too.
    func runPairedProgressive(_ trainer: Trainer, comm: MPICommunicator) throws {
        guard trainer.reducesProgressively else {
            throw BenchmarkError("--paired-progressive needs the progressive sum: 2 ranks on one host, after backward, uncompressed")
        }
        var progressive: [Double] = [], plain: [Double] = [], exposedProgressive: [Double] = [], exposedPlain: [Double] = []
        for pair in 0..<(warmup + steps) {
            for k in 0..<2 {
                let on = (pair + k) % 2 == 0
                trainer.progressiveSumEnabled = on
                try comm.barrier()
                let m = try trainer.trainStep()
                guard pair >= warmup else { continue }
                if on {
                    progressive.append(m.stepSeconds)
                    exposedProgressive.append(m.exposedCommSeconds)
                } else {
                    plain.append(m.stepSeconds)
                    exposedPlain.append(m.exposedCommSeconds)
                }
            }
        }
        trainer.progressiveSumEnabled = true
        let all = try comm.allgatherv(progressive + plain + exposedProgressive + exposedPlain,
                                      counts: [Int](repeating: 4 * steps, count: comm.size))
        guard comm.rank == 0 else { return }
        let tokens = Double(preset.tokensPerStep)
        func column(_ k: Int, _ i: Int) -> [Double] { (0..<comm.size).map { all[$0 * 4 * steps + k * steps + i] } }
        func rates(_ k: Int) -> [Double] { (0..<steps).map { i in column(k, i).map { tokens / $0 }.reduce(0, +) } }
        func perRank(_ k: Int) -> [Double] { (0..<comm.size).map { q in Statistics.median((0..<steps).map { column(k, $0)[q] }) * 1000 } }
        let ratios = zip(rates(0), rates(1)).map { $0 / $1 }
        let json: [String: Any] = [
            "label": label, "preset": preset.name, "ranks": comm.size, "threads": threads, "schedule": "after-backward, progressive vs plain",
            "steps": steps, "warmup": warmup, "tokens_per_s": Statistics.median(rates(0)), "plain_tokens_per_s": Statistics.median(rates(1)),
            "progressive_ratios": ratios, "progressive_ratio_median": Statistics.median(ratios),
            "step_ms": perRank(0), "plain_step_ms": perRank(1), "exposed_ms": perRank(2), "plain_exposed_ms": perRank(3),
            "loadavg": Statistics.loadAverage(),
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        print("SCALING " + String(decoding: data, as: UTF8.self))
        fflush(stdout)
    }

    /// Median over 3 timed calls (after one untimed) of the slowest rank's time for a bare
    /// `MPI_Allreduce` of `bytes` bytes of float32, in `buffer` (the gradient buffer, reused: it holds
    /// nothing needed any more); 0 on one rank or when nothing was synchronised.
    func rawAllreduceSeconds(_ comm: MPICommunicator, bytes: Int, buffer: FlatBuffer) throws -> Double {
        guard comm.size > 1, synchronize, bytes > 0 else { return 0 }
        let slice = buffer[0..<min(buffer.count, bytes / 4)]
        buffer.zero()
        var times: [Double] = []
        for i in 0..<4 {
            try comm.barrier()
            let start = MPICommunicator.wallTime()
            try comm.rawMPIAllreduce(slice, op: .sum)
            if i > 0 { times.append(MPICommunicator.wallTime() - start) }
        }
        try comm.allreduce(&times, op: .max)
        return Statistics.median(times)
    }
}
