import Distributed
import Foundation

/// Allreduce bandwidth of the project's communicator next to raw MPI: for each message size, in
/// rotation, a bare `MPI_Allreduce`, `MPICommunicator.allreduce`, `allreduceAsync` + `wait`, and
/// optionally `GradientAllreducer` over buckets and the async path beside busy compute threads.
public enum AllreduceBenchmark {
    /// What to measure.
    public struct Settings: Sendable {
        public var minBytes: Int
        public var maxBytes: Int
        /// Size ratio between consecutive rows.
        public var step: Int
        public var iterations: Int
        public var warmup: Int
        /// Compute threads per rank busy during the extra async column (0: no such column).
        public var threads: Int
        /// GradientAllreducer's bucket size for the extra gradient-path column (0: no such column).
        public var bucketBytes: Int

        /// Checks the values, throwing the command line's one-line messages.
        public init(minBytes: Int, maxBytes: Int, step: Int, iterations: Int, warmup: Int, threads: Int, bucketBytes: Int) throws {
            guard minBytes >= 4, minBytes % 4 == 0 else { throw BenchmarkError("--min-bytes must be a positive multiple of 4") }
            guard maxBytes >= minBytes else { throw BenchmarkError("--max-bytes must be at least --min-bytes") }
            guard maxBytes <= 2_000_000_000 else { throw BenchmarkError("--max-bytes is limited to 2 GB (MPI's 32-bit counts)") }
            guard step >= 2 else { throw BenchmarkError("--step must be at least 2") }
            guard iterations >= 1, warmup >= 0 else { throw BenchmarkError("--iterations must be ≥ 1 and --warmup ≥ 0") }
            guard (0...64).contains(threads) else { throw BenchmarkError("--threads must be in 0...64") }
            guard bucketBytes >= 0, bucketBytes % 4 == 0 else {
                throw BenchmarkError("--bucket-bytes must be 0 (off) or a positive multiple of 4, got \(bucketBytes)")
            }
            (self.minBytes, self.maxBytes, self.step, self.iterations, self.warmup, self.threads, self.bucketBytes) =
                (minBytes, maxBytes, step, iterations, warmup, threads, bucketBytes)
        }

        /// The message sizes, minBytes × step^k up to maxBytes.
        var sizes: [Int] {
            var sizes: [Int] = []
            var bytes = minBytes
            while bytes <= maxBytes { sizes.append(bytes); bytes *= step }
            return sizes
        }
    }

    /// One message size: the median (over iterations) of the slowest rank's seconds, per column.
    public struct Row: Sendable {
        public var bytes: Int
        public var seconds: [Double]
    }

    /// Starts MPI, measures every size and returns the rows (on every rank). On rank 0 `log` receives
    /// the table's header lines first and then each row's line as soon as it is measured.
    public static func run(_ s: Settings, log: (String) -> Void) throws -> [Row] {
        let comm: MPICommunicator
        do { comm = try MPICommunicator() } catch { throw BenchmarkError("cannot start MPI: \(error)") }
        defer { try? comm.shutdown() }
        let n = comm.size
        let busFactor = n > 1 ? 2.0 * Double(n - 1) / Double(n) : 1.0
        if comm.rank == 0 { headerLines(s, comm).forEach(log) }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: s.maxBytes / 4)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 0)  // zeros stay zeros: no overflow, no denormals, pages touched
        let load = s.threads > 0 ? ComputeLoad(threads: s.threads) : nil
        var rows: [Row] = []
        for size in s.sizes {
            let slice = UnsafeMutableBufferPointer(rebasing: buffer[0..<(size / 4)])
            var paths: [(Int) throws -> Void] = [
                { _ in try comm.rawMPIAllreduce(slice, op: .sum) },
                { _ in try comm.allreduce(slice, op: .sum) },
                { _ in try comm.allreduceAsync(slice, op: .sum).wait() },
            ]
            if s.bucketBytes > 0, let base = slice.baseAddress {
                let reducer = try GradientAllreducer(comm: comm, buffer: base, count: slice.count, bucketElements: s.bucketBytes / 4,
                                                 overlapsBackward: false, op: .sum)
                paths.append { _ in
                    reducer.begin()
                    _ = try reducer.finish()
                }
            }
            var times = try measure(comm, s, paths: paths)
            if let load {
                load.start()
                times += try measure(comm, s, paths: [{ _ in try comm.allreduceAsync(slice, op: .sum).wait() }])
                load.stop()
            }
            let row = Row(bytes: size, seconds: times)
            rows.append(row)
            if comm.rank == 0 { log(row.line(busFactor: busFactor)) }
        }
        load?.finish()
        return rows
    }

    /// Median (over iterations) of the slowest rank's time, per path; paths run in rotation.
    private static func measure(_ comm: MPICommunicator, _ s: Settings, paths: [(Int) throws -> Void]) throws -> [Double] {
        let iterations = s.iterations
        for _ in 0..<s.warmup { for path in paths { try path(0) } }
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
        return (0..<paths.count).map { p in Statistics.median(samples[(p * iterations)..<((p + 1) * iterations)]) }
    }

    /// The lines above the rows: ranks, MCA settings and the column titles.
    static func headerLines(_ s: Settings, _ comm: MPICommunicator) -> [String] {
        let env = ProcessInfo.processInfo.environment
        let launcherKeys = ["rmaps", "ess", "orte", "pmix", "plm", "hwloc", "shmem", "initial_wdir",
                            "mpi_yield", "mpi_oversubscribe"]
        let names = env.keys.filter { key in
            key.hasPrefix("OMPI_MCA_") && !launcherKeys.contains(where: { key.contains($0) })
        }
        let mca: [String] = names.sorted().map { "\($0)=\(env[$0] ?? "")" }
        let ours = comm.appliedEnvironment.map { String($0.split(separator: "=")[0]) }
        let mcaText = mca.isEmpty ? "(library defaults)" : mca.joined(separator: " ")
        let oursText = ours.isEmpty ? "" : "   [set by pretrain: " + ours.joined(separator: ", ") + "]"
        var header = "    bytes"
        var units = "         "
        let columns = ["raw MPI_Allreduce", "comm.allreduce", "allreduceAsync+wait"]
            + (s.bucketBytes > 0 ? ["buckets of \(formatBytes(s.bucketBytes)), blocking"] : [])
            + (s.threads > 0 ? ["async, \(s.threads) busy thread(s)"] : [])
        for c in columns {
            header += " | " + c.leftPad(25)
            units += " | " + "ms   algGB/s busGB/s".leftPad(25)
        }
        return ["allreduce float32 in place, \(comm.size) ranks (\(comm.localSize) on this host), "
                + "\(s.iterations) iterations + \(s.warmup) warmup, time = median of the slowest rank",
                "MCA: " + mcaText + oursText, header, units]
    }

    /// "4 KiB", "16 MiB" or "100 B".
    static func formatBytes(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) B"
    }
}

extension AllreduceBenchmark.Row {
    /// The row as the table prints it: size, then per column time (ms), algbw and busbw (GB/s).
    public func line(busFactor: Double) -> String {
        var row = AllreduceBenchmark.formatBytes(bytes).leftPad(9)
        for t in seconds {
            let algbw = Double(bytes) / t / 1e9
            row += " | " + String(format: "%9.3f %7.2f %7.2f", t * 1e3, algbw, algbw * busFactor)
        }
        return row
    }
}
