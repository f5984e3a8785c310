import ArgumentParser
import Distributed
import Foundation

/// `pretrain bench allreduce`: allreduce bandwidth of the project's communicator next to raw MPI.
struct BenchAllreduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Measure in-place float32 allreduce: raw MPI_Allreduce, the sync and the async path.",
        discussion: """
        Run under the launcher, e.g. `mpirun -n 2 pretrain bench allreduce`. For each size it times, in rotation, a bare MPI_Allreduce, `MPICommunicator.allreduce` and `allreduceAsync` + `wait` on the same buffer. Each timed iteration starts after a barrier; the reported time is the median over iterations of the slowest rank's time. algbw = bytes / time; busbw = algbw × 2(n-1)/n (the traffic per rank of a bandwidth-optimal allreduce).

        MPI tuning comes from the environment (OMPI_MCA_*); unset variables get `MPICommunicator.recommendedEnvironment` (PRETRAIN_MPI_DEFAULTS=0 turns that off). With --threads N > 0 an extra column times the async path while N threads of this rank run floating-point work, as a backward pass would during overlap. With --bucket-bytes B another column times the gradient path used after backward: `GradientAllreducer` reducing the buffer in blocking calls over buckets of B bytes.

        Example: mpirun -n 2 pretrain bench allreduce --min-bytes 4194304 --max-bytes 268435456 --bucket-bytes 26214400
        """)

    @Option(help: "Smallest message in bytes (a multiple of 4).")
    var minBytes: Int = 4 << 10

    @Option(help: "Largest message in bytes.")
    var maxBytes: Int = 256 << 20

    @Option(help: "Size ratio between consecutive rows (2 or 4 are typical).")
    var step: Int = 4

    @Option(help: "Timed iterations per size and path.")
    var iterations: Int = 20

    @Option(help: "Untimed iterations per size and path before timing.")
    var warmup: Int = 3

    @Option(help: "Compute threads per rank busy during the extra async column (0: no such column).")
    var threads: Int = 0

    @Option(help: "Add a column timing the gradient path after backward: GradientAllreducer's blocking calls over buckets of this many bytes (0: no such column; training's default is 26214400).")
    var bucketBytes: Int = 0

    func validate() throws {
        guard minBytes >= 4, minBytes % 4 == 0 else { throw CLIError("--min-bytes must be a positive multiple of 4") }
        guard maxBytes >= minBytes else { throw CLIError("--max-bytes must be at least --min-bytes") }
        guard maxBytes <= 2_000_000_000 else { throw CLIError("--max-bytes is limited to 2 GB (MPI's 32-bit counts)") }
        guard step >= 2 else { throw CLIError("--step must be at least 2") }
        guard iterations >= 1, warmup >= 0 else { throw CLIError("--iterations must be ≥ 1 and --warmup ≥ 0") }
        guard (0...64).contains(threads) else { throw CLIError("--threads must be in 0...64") }
        guard bucketBytes >= 0, bucketBytes % 4 == 0 else {
            throw CLIError("--bucket-bytes must be 0 (off) or a positive multiple of 4, got \(bucketBytes)")
        }
    }

    func run() throws {
        let comm: MPICommunicator
        do { comm = try MPICommunicator() } catch { throw CLIError("cannot start MPI: \(error)") }
        defer { try? comm.shutdown() }
        var sizes: [Int] = []
        var bytes = minBytes
        while bytes <= maxBytes { sizes.append(bytes); bytes *= step }

        let n = comm.size
        let busFactor = n > 1 ? 2.0 * Double(n - 1) / Double(n) : 1.0
        if comm.rank == 0 {
            printHeader(comm)
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: maxBytes / 4)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 0)  // zeros stay zeros: no overflow, no denormals, pages touched
        let load = threads > 0 ? ComputeLoad(threads: threads) : nil

        for size in sizes {
            let slice = UnsafeMutableBufferPointer(rebasing: buffer[0..<(size / 4)])
            var paths: [(Int) throws -> Void] = [
                { _ in try comm.rawMPIAllreduce(slice, op: .sum) },
                { _ in try comm.allreduce(slice, op: .sum) },
                { _ in try comm.allreduceAsync(slice, op: .sum).wait() },
            ]
            if bucketBytes > 0, let base = slice.baseAddress {
                let reducer = GradientAllreducer(comm: comm, buffer: base, count: slice.count, bucketElements: bucketBytes / 4,
                                                 overlapsBackward: false, op: .sum)
                paths.append { _ in
                    reducer.begin()
                    _ = try reducer.finish()
                }
            }
            var times = try measure(comm, paths: paths)
            if let load {
                load.start()
                times += try measure(comm, paths: [{ _ in try comm.allreduceAsync(slice, op: .sum).wait() }])
                load.stop()
            }
            if comm.rank == 0 {
                var row = formatBytes(size).leftPad(9)
                for t in times {
                    let algbw = Double(size) / t / 1e9
                    row += " | " + String(format: "%9.3f %7.2f %7.2f", t * 1e3, algbw, algbw * busFactor)
                }
                print(row)
                fflush(stdout)
            }
        }
        load?.finish()
    }

    /// Median (over iterations) of the slowest rank's time, per path; paths run in rotation.
    private func measure(_ comm: MPICommunicator, paths: [(Int) throws -> Void]) throws -> [Double] {
        for _ in 0..<warmup { for path in paths { try path(0) } }
        var samples = [Double](repeating: 0, count: paths.count * iterations)
        for i in 0..<iterations {
            for (p, path) in paths.enumerated() {
                try comm.barrier()
                let start = MPICommunicator.wallTime()
                try path(i)
                samples[p * iterations + i] = MPICommunicator.wallTime() - start
            }
        }
        try comm.allreduce(&samples, op: .max)
        return (0..<paths.count).map { p in
            let sorted = samples[(p * iterations)..<((p + 1) * iterations)].sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
    }

    private func printHeader(_ comm: MPICommunicator) {
        let env = ProcessInfo.processInfo.environment
        let launcherKeys = ["rmaps", "ess", "orte", "pmix", "plm", "hwloc", "shmem", "initial_wdir",
                            "mpi_yield", "mpi_oversubscribe"]
        let names = env.keys.filter { key in
            key.hasPrefix("OMPI_MCA_") && !launcherKeys.contains(where: { key.contains($0) })
        }
        let mca: [String] = names.sorted().map { "\($0)=\(env[$0] ?? "")" }
        let ours = comm.appliedEnvironment.map { String($0.split(separator: "=")[0]) }
        print("allreduce float32 in place, \(comm.size) ranks (\(comm.localSize) on this host), "
              + "\(iterations) iterations + \(warmup) warmup, time = median of the slowest rank")
        let mcaText = mca.isEmpty ? "(library defaults)" : mca.joined(separator: " ")
        let oursText = ours.isEmpty ? "" : "   [set by pretrain: " + ours.joined(separator: ", ") + "]"
        print("MCA: " + mcaText + oursText)
        var header = "    bytes"
        var units = "         "
        let columns = ["raw MPI_Allreduce", "comm.allreduce", "allreduceAsync+wait"]
            + (bucketBytes > 0 ? ["buckets of \(formatBytes(bucketBytes)), blocking"] : [])
            + (threads > 0 ? ["async, \(threads) busy thread(s)"] : [])
        for c in columns {
            header += " | " + c.leftPad(25)
            units += " | " + "ms   algGB/s busGB/s".leftPad(25)
        }
        print(header)
        print(units)
    }

    private func formatBytes(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) B"
    }
}

/// Threads doing floating-point work on private data while switched on: a stand-in for compute
/// overlapping communication.
private final class ComputeLoad: @unchecked Sendable {
    private let condition = NSCondition()
    private var active = false
    private var finished = false

    init(threads: Int) {
        for t in 0..<threads {
            let thread = Thread { [self] in self.work(seed: Float(t + 1)) }
            thread.name = "bench load \(t)"
            thread.start()
        }
    }

    func start() { set(active: true) }
    func stop() { set(active: false) }

    func finish() {
        condition.lock()
        finished = true
        active = false
        condition.broadcast()
        condition.unlock()
    }

    private func set(active value: Bool) {
        condition.lock()
        active = value
        condition.broadcast()
        condition.unlock()
    }

    private func work(seed: Float) {
        var data = [Float](repeating: seed, count: 4096)  // 16 KiB: stays in L1, no memory traffic
        while true {
            condition.lock()
            while !active && !finished { condition.wait() }
            let done = finished
            condition.unlock()
            if done { return }
            for _ in 0..<1000 {
                data.withUnsafeMutableBufferPointer { d in
                    for i in 0..<d.count { d[i] = d[i] * 0.999_9 + 1e-4 }
                }
            }
        }
    }
}
