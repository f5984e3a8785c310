import ArgumentParser
import Benchmarks
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
        """.helpParagraphs)

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

    func validate() throws { _ = try settings() }

    func run() throws {
        _ = try AllreduceBenchmark.run(settings()) { line in
            print(line)
            fflush(stdout)
        }
    }

    private func settings() throws -> AllreduceBenchmark.Settings {
        try AllreduceBenchmark.Settings(minBytes: minBytes, maxBytes: maxBytes, step: step, iterations: iterations, warmup: warmup,
                                        threads: threads, bucketBytes: bucketBytes)
    }
}
