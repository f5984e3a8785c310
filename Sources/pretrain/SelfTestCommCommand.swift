import ArgumentParser
import Distributed
import Foundation

/// `pretrain selftest comm`: runs every communicator operation under mpirun and checks the results.
struct SelfTestCommCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comm",
        abstract: "Check every communicator operation against independently computed values.",
        discussion: """
        Run it under the launcher, e.g. `mpirun -n 4 --oversubscribe pretrain selftest comm`, or on its own
        for one rank. Each rank fills buffers with deterministic rank-dependent values; every result is
        compared with the closed form of what the ranks contributed. Rank 0 prints one line per check
        (with a digest of the results where they are bitwise deterministic) and `N passed, M failed`;
        other ranks print only their own failures. The exit status is 1 if any check failed.
        `--in-process N` runs the same suite on N threads of this process instead of MPI.
        """.helpParagraphs)

    @Option(name: .customLong("sizes"), parsing: .upToNextOption,
            help: "Element counts of the float32 allreduce checks (default: 0 1 7 1000003 16777216).")
    var sizes: [Int] = CommSelfTest.defaultSizes

    @Flag(help: "Also sum fractional values per size (digest depends on the order ranks are added in).")
    var fractional = false

    @Option(name: .customLong("in-process"), help: "Run on this many in-process ranks (threads) instead of MPI.")
    var inProcessRanks: Int?

    /// For testing the self-test: this rank adds 1 to the first element of every allreduce result,
    /// so the run must report failures on exactly this rank and exit non-zero.
    @Option(name: .customLong("corrupt-rank"), help: .hidden)
    var corruptRank: Int?

    func validate() throws {
        if sizes.contains(where: { $0 < 0 }) { throw CLIError("--sizes takes non-negative element counts") }
        if let n = inProcessRanks, n < 1 { throw CLIError("--in-process needs at least 1 rank, got \(n)") }
    }

    func run() throws {
        let suite = CommSelfTest(sizes: sizes, fractional: fractional)
        if let n = inProcessRanks {
            let perRank = try InProcessGroup.run(size: n) { comm in
                try suite.run(on: comm, corruptingRank: corruptRank)
            }
            try report(perRank[0], backend: "in-process", size: n, rank: 0, localFailures: perRank.enumerated()
                .flatMap { rank, results in results.compactMap { $0.localDetail.map { (rank, $0) } } })
            return
        }
        let comm: MPICommunicator
        do {
            comm = try MPICommunicator()
        } catch {
            throw CLIError("cannot start MPI: \(error)")
        }
        var results: [CommCheckResult] = []
        do {
            defer { try? comm.shutdown() }
            results = try suite.run(on: comm, corruptingRank: corruptRank)
            if comm.rank == 0 {
                print("selftest comm: \(comm.size) ranks (mpi, \(comm.threadSupport)), "
                      + "local rank \(comm.localRank) of \(comm.localSize), large float32 sums via \(comm.allreduceTransport), progressive sums: \(comm.progressiveSumTransport)"
                      + (comm.appliedEnvironment.isEmpty ? "" : ", set \(comm.appliedEnvironment.joined(separator: " "))"))
            }
            try report(results, backend: nil, size: comm.size, rank: comm.rank,
                       localFailures: results.compactMap { r in r.localDetail.map { (comm.rank, "\(r.name): \($0)") } })
        }
    }

    /// Prints the per-check lines (rank 0) and local failure details (every rank); throws on failure.
    private func report(_ results: [CommCheckResult], backend: String?, size: Int, rank: Int,
                        localFailures: [(Int, String)]) throws {
        for (failingRank, detail) in localFailures {
            FileHandle.standardError.write(Data("rank \(failingRank): \(detail)\n".utf8))
        }
        let failed = results.filter { !$0.passed }.count
        if rank == 0 {
            if let backend { print("selftest comm: \(size) ranks (\(backend))") }
            for result in results { print(result.line) }
            print("\(results.count - failed) passed, \(failed) failed")
        }
        if failed > 0 { throw CLIError("\(failed) communicator checks failed", exitCode: 1) }
    }
}
