import Config
import Distributed
import Foundation
import Model
import Training

/// One measured configuration of `pretrain bench scaling`: the part that runs inside every rank under
/// mpirun. It trains the preset model with the real `Trainer` on random tokens, then times a raw
/// `MPI_Allreduce` of the same number of gradient bytes in the same processes, gathers every rank's
/// numbers and prints one `SCALING {json}` line on rank 0.
struct ScalingWorker {
    /// What to run (passed by the driver on the command line).
    var preset: BenchPreset
    var data: String
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
    var label: String

    /// The run config: the preset's shapes, one micro-batch per rank per step, constant learning rate,
    /// no evaluation, no checksum (benchmarks time steps, not checks).
    func config(ranks: Int) -> RunConfig {
        var c = RunConfig()
        c.launch.numProcesses = ranks
        c.launch.threadsPerProcess = threads
        c.model = preset.config
        c.data.train = data
        c.data.val = ""
        c.data.tokenizer = ""
        c.data.shuffle = true
        c.optimizer.lr = 1e-4
        c.schedule.kind = "constant"
        c.training.steps = warmup + steps
        c.training.microBatch = preset.batch
        c.training.seqLen = preset.seqLen
        c.training.gradientAccumulationSteps = 1
        c.training.evalInterval = 0
        c.training.checksumInterval = 0
        c.training.zero1 = zero1
        c.training.gradCompression = compression.rawValue
        c.logging.runDir = NSTemporaryDirectory() + "pretrain-bench-scaling"
        return c
    }

    func run() throws {
        let comm: MPICommunicator
        do { comm = try MPICommunicator() } catch { throw CLIError("cannot start MPI: \(error)") }
        defer { try? comm.shutdown() }
        var options = TrainerOptions()
        options.threads = threads
        options.measurePeak = true
        options.overlapCommunication = overlap
        options.synchronize = synchronize
        options.deferTokenEmbedding = deferTokenEmbedding
        let trainer: Trainer
        do { trainer = try Trainer(config: config(ranks: comm.size), comm: comm, options: options) } catch let e as TrainingError {
            throw CLIError(e.message)
        }
        let schedule = zero1 ? "ZeRO-1 reduce-scatter after backward" : (trainer.overlapsCommunication ? "overlap" : "after-backward")
        var metrics: [StepMetrics] = []
        var commCPU = 0.0
        for i in 0..<(warmup + steps) {
            if i == warmup { commCPU = comm.communicationThreadCPUSeconds }
            let m = try trainer.trainStep()
            if i >= warmup { metrics.append(m) }
        }
        commCPU = (comm.communicationThreadCPUSeconds - commCPU) / Double(steps)
        let gradientBytes = metrics.first?.gradientSyncBytes ?? 0
        let raw = try rawAllreduceSeconds(comm, bytes: gradientBytes, buffer: trainer.model.grads)

        // Per rank: median step, exposed, comm, gradient sync; tokens/s; peak RSS; then gather.
        let mine: [Double] = [
            Self.median(metrics.map(\.stepSeconds)), Self.median(metrics.map(\.exposedCommSeconds)),
            Self.median(metrics.map(\.commSeconds)), Self.median(metrics.map(\.gradientSyncSeconds)),
            Double(preset.batch * preset.seqLen) / Self.median(metrics.map(\.stepSeconds)),
            Double(MemoryStats.peakResidentBytes()), Self.median(metrics.map(\.mfu)), Double(metrics.last?.loss ?? .nan),
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
            "label": label, "preset": preset.rawValue, "ranks": comm.size, "threads": threads,
            "schedule": schedule, "transport": comm.allreduceTransport, "token_embedding_deferred": trainer.defersTokenEmbedding, "sync": synchronize, "zero1": zero1,
            "compression": compression.rawValue, "steps": steps, "warmup": warmup,
            "step_ms": column(0).map { $0 * 1000 }, "exposed_ms": column(1).map { $0 * 1000 },
            "comm_ms": column(2).map { $0 * 1000 }, "grad_sync_ms": column(3).map { $0 * 1000 },
            "tokens_per_s": column(4).reduce(0, +), "peak_rss_mb": column(5).map { $0 / 1_048_576 },
            "mfu": column(6).reduce(0, +) / n, "loss": column(7)[0], "grad_bytes": gradientBytes,
            "loadavg": Self.loadAverage(), "comm_thread_cpu_ms": column(8).map { $0 * 1000 },
        ]
        if syncSeconds > 0, gradientBytes > 0 {
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
        return Self.median(times)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The 1-, 5- and 15-minute load averages.
    static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }
}
