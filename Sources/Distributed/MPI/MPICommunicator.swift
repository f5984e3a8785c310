import CMPI
import Foundation

/// A `Communicator` over MPI processes (mpirun, srun, or one process started on its own).
///
/// - Initializes MPI with `MPI_Init_thread(MPI_THREAD_MULTIPLE)` and requires at least
///   `MPI_THREAD_SERIALIZED`: MPI is called from the owner thread and from the communication thread,
///   never from both at once (the issue-order queue serializes them).
/// - Works on a duplicate of `MPI_COMM_WORLD` whose error handler is `MPI_ERRORS_RETURN`; every return
///   code becomes a thrown `CommunicatorError.mpi` naming the call and `MPI_Error_string`'s text.
/// - `localRank`/`localSize` come from `MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`.
/// - When every rank shares this host, float32 and bfloat16 sums and averages of at least
///   `SingleNodeAllreduce.minimumElements` elements go through `SingleNodeAllreduce` (ranks read and
///   write each other's buffers directly and wait sleeping) instead of `MPI_Allreduce`, unless
///   `PRETRAIN_SINGLE_NODE_ALLREDUCE=0`; `allreduceTransport` says which. float32 and bfloat16
///   reduce-scatters (any size) and all-gathers of 16 KiB or more take the same transport.
/// - Small floating-point sums (losses, norms: ≤ 16 KiB per rank and ≤ 1 MiB over all ranks) on
///   three or more ranks are gathered and added in rank order, so they round as in
///   `InProcessCommunicator` whatever MPI's algorithm; on one host the transport above adds the
///   larger ones and the reduce-scatters in rank order too.
/// - Before `MPI_Init` it sets the variables of `recommendedEnvironment` that the user has not set
///   (pass `applyRecommendedEnvironment: false` to leave the environment alone, or set
///   `PRETRAIN_MPI_DEFAULTS=0`).
/// - One per process: MPI can be initialized and finalized only once. `shutdown()` (also run by
///   `deinit`) finalizes exactly once; call it on error paths too. If only this rank failed while the
///   others may be inside a collective, call `abort(exitCode:)` instead: a finalize would wait for them.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// MCA settings applied before `MPI_Init` for each variable the user has not set (measured with
    /// `pretrain bench allreduce`, 2 ranks, OpenMPI 4.1.4):
    /// - `pml=ob1`: skips probing the `cm` layer (`MPI_Init` 20–40 ms instead of ~230 ms). On clusters
    ///   whose fast network needs UCX, set `OMPI_MCA_pml=ucx` yourself; yours wins.
    /// - allreduce algorithm 5 (segmented ring) with 1 MiB segments: bandwidth-optimal like the plain
    ///   ring (4), but its temporary buffers are one segment long. The default decision, ring (4) and
    ///   Rabenseifner (6) allocate count/size elements per call; above 32 MiB glibc maps and unmaps
    ///   them on every call and each call page-faults its way through them again (~8,000 faults per
    ///   64 MiB allreduce per rank, 40× more than segmented), which made 64–256 MiB gradient
    ///   allreduces 2–3× slower (median 3.8 GB/s vs 1.2–1.7 GB/s at 256 MiB).
    public static let recommendedEnvironment: [(name: String, value: String)] = [
        ("OMPI_MCA_pml", "ob1"),
        ("OMPI_MCA_coll_tuned_use_dynamic_rules", "1"),
        ("OMPI_MCA_coll_tuned_allreduce_algorithm", "5"),
        ("OMPI_MCA_coll_tuned_allreduce_algorithm_segmentsize", "1048576"),
    ]

    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// The number of processes in `MPI_COMM_WORLD`.
    public let size: Int
    /// This process's rank among the processes sharing its host's memory.
    public let localRank: Int
    /// The number of processes sharing this host's memory.
    public let localSize: Int
    /// "mpi".
    public var backendName: String { "mpi" }
    /// The thread support MPI granted, e.g. "MPI_THREAD_MULTIPLE".
    public let threadSupport: String
    /// The `NAME=value` settings this communicator put into the environment before `MPI_Init`.
    public let appliedEnvironment: [String]
    /// How large float32 sums travel: "single-node (cross-memory attach)" when every rank shares this
    /// host and may read its peers' memory, else "MPI_Allreduce".
    /// What `makeProgressiveSum` runs on: "single-node" or "none".
    public var progressiveSumTransport: String {
        singleNode != nil && ProcessInfo.processInfo.environment["PRETRAIN_PROGRESSIVE_SUM"] != "0" ? "single-node" : "none"
    }
    public var allreduceTransport: String { singleNode == nil ? "MPI_Allreduce" : "single-node (cross-memory attach)" }

    private let comm: MPI_Comm?
    private let localComm: MPI_Comm?
    private let queue = CommQueue(label: "pretrain.comm")
    /// The cross-memory-attach allreduce for large float32 sums when every rank is on this host.
    private var singleNode: SingleNodeAllreduce?
    /// Wrapping UInt8/UInt16 sums (OpenMPI's AVX ops saturate them).
    private var ops: MPIWrappingSumOps
    /// Per-rank count and displacement arrays, reused by allgatherv/reduce-scatter (the queue
    /// serializes their use).
    private var countScratch: [Int32]
    private var displacementScratch: [Int32]
    /// A valid address for zero-length buffers (MPI rejects some null buffers even for count 0).
    private let emptyAddress = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
    /// Floating-point sums of at most this many bytes on three or more ranks are gathered and added
    /// in rank order (`MPI_Allreduce` adds three or more ranks in an order of its own); larger float32
    /// and bfloat16 ones take the single-node transport on one host, which adds in rank order too.
    static let rankOrderBytes = SingleNodeAllreduce.minimumBytes
    /// The most bytes such a sum gathers from all ranks together (large jobs gather only smaller sums).
    static let rankOrderGatherBytes = 1 << 20
    /// Receives every rank's contribution to such a sum.
    private let gatherScratch: UnsafeMutableRawPointer
    private let lifecycleLock = NSLock()
    private var isShutDown = false

    /// Initializes MPI (or joins an initialization done elsewhere) and describes this rank.
    public init(applyRecommendedEnvironment: Bool = true) throws {
        var applied: [String] = []
        if applyRecommendedEnvironment, ProcessInfo.processInfo.environment["PRETRAIN_MPI_DEFAULTS"] != "0" {
            for (name, value) in Self.recommendedEnvironment where getenv(name) == nil {
                setenv(name, value, 0)
                applied.append("\(name)=\(value)")
            }
        }
        appliedEnvironment = applied
        let granted = try MPIRuntime.initialize(required: Int32(MPI_THREAD_SERIALIZED))
        threadSupport = MPIRuntime.threadLevelName(granted)
        do {
            let world = cmpi_comm_world()
            try MPIRuntime.check(MPI_Comm_set_errhandler(world, cmpi_errors_return()), "MPI_Comm_set_errhandler")
            var dup: MPI_Comm? = cmpi_comm_null()
            try MPIRuntime.check(MPI_Comm_dup(world, &dup), "MPI_Comm_dup")
            try MPIRuntime.check(MPI_Comm_set_errhandler(dup, cmpi_errors_return()), "MPI_Comm_set_errhandler")
            var r: Int32 = 0, s: Int32 = 0
            try MPIRuntime.check(MPI_Comm_rank(dup, &r), "MPI_Comm_rank")
            try MPIRuntime.check(MPI_Comm_size(dup, &s), "MPI_Comm_size")
            var local: MPI_Comm? = cmpi_comm_null()
            try MPIRuntime.check(MPI_Comm_split_type(dup, cmpi_comm_type_shared(), r, cmpi_info_null(), &local),
                                 "MPI_Comm_split_type")
            var lr: Int32 = 0, ls: Int32 = 0
            try MPIRuntime.check(MPI_Comm_rank(local, &lr), "MPI_Comm_rank")
            try MPIRuntime.check(MPI_Comm_size(local, &ls), "MPI_Comm_size")
            ops = try MPIWrappingSumOps()
            comm = dup
            localComm = local
            rank = Int(r)
            size = Int(s)
            localRank = Int(lr)
            localSize = Int(ls)
            countScratch = [Int32](repeating: 0, count: Int(s))
            gatherScratch = .allocate(byteCount: min(Int(s) * Self.rankOrderBytes, Self.rankOrderGatherBytes), alignment: 64)
            displacementScratch = [Int32](repeating: 0, count: Int(s))
            if s > 1, ls == s, ProcessInfo.processInfo.environment["PRETRAIN_SINGLE_NODE_ALLREDUCE"] != "0" {
                // Optional: if MPI cannot make the shared window, large sums stay on MPI_Allreduce.
                singleNode = try? SingleNodeAllreduce.make(localComm: local, rank: Int(lr), size: Int(ls))
            }
        } catch {
            try? MPIRuntime.finalize()
            throw error
        }
    }

    deinit {
        try? shutdown()
        emptyAddress.deallocate()
        gatherScratch.deallocate()
    }

    /// CPU seconds the communication thread has spent on asynchronous operations (overlapped
    /// gradient buckets) since this communicator started.
    public var communicationThreadCPUSeconds: Double { queue.communicationThreadCPUSeconds }

    /// Blocks until every rank has called `barrier` (`MPI_Barrier`).
    public func barrier() throws {
        try queue.sync("MPI_Barrier") { try MPIRuntime.check(MPI_Barrier(comm), "MPI_Barrier") }
    }

    /// Replaces `buffer` with `root`'s (`MPI_Bcast`); MPI itself validates `root`.
    public func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        let type = T.commDataType
        try queue.sync("MPI_Bcast") { try broadcastNow(UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, type, root) }
    }

    /// Reduces `buffer` in place across ranks (`MPI_Allreduce` with `MPI_IN_PLACE`, then a division
    /// by `size` for `.average`).
    public func allreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        let type = T.commDataType
        try CommValidation.check(op: op, type: type, operation: "MPI_Allreduce")
        try queue.sync("MPI_Allreduce") {
            try allreduceNow(UnsafeMutableRawPointer(buffer.baseAddress), buffer.count, type, op, background: false)
        }
    }

    /// Queues `allreduce(buffer, op:)` on the communication thread.
    public func allreduceAsync<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) -> CommRequest {
        let type = T.commDataType
        do {
            try CommValidation.check(op: op, type: type, operation: "MPI_Allreduce")
        } catch {
            return CommRequest(failed: error)
        }
        let base = UnsafeMutableRawPointer(buffer.baseAddress), count = buffer.count
        return queue.async("MPI_Allreduce") { [unowned self] in try self.allreduceNow(base, count, type, op, background: true) }
    }

    /// Gathers uneven blocks from every rank (`MPI_Allgatherv`); `send` and `receive` must not overlap.
    /// On one host with the single-node transport, calls of 16 KiB or more write each block into the
    /// peers' buffers directly instead.
    public func allgatherv<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                          counts: [Int]) throws {
        try CommValidation.check(counts: counts, size: size, rank: rank, mine: send.count, total: receive.count,
                                 mineName: "send", totalName: "receive", operation: "MPI_Allgatherv")
        let type = T.commDataType
        try queue.sync("MPI_Allgatherv") {
            if let singleNode, receive.count * type.byteWidth >= SingleNodeAllreduce.minimumBytes {
                let sendAddress = send.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyAddress)
                return try singleNode.allgatherv(sendAddress, into: UnsafeMutableRawPointer(receive.baseAddress!),
                                                 counts: counts, width: type.byteWidth)
            }
            var offset = 0
            for r in 0..<size {
                countScratch[r] = Int32(counts[r])
                displacementScratch[r] = Int32(offset)
                offset += counts[r]
            }
            let sendAddress = send.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyAddress)
            let receiveAddress = UnsafeMutableRawPointer(receive.baseAddress) ?? emptyAddress
            try MPIRuntime.check(
                MPI_Allgatherv(sendAddress, Int32(send.count), type.mpi, receiveAddress, countScratch,
                               displacementScratch, type.mpi, comm),
                "MPI_Allgatherv")
        }
    }

    /// Reduces `send` across ranks and keeps this rank's block (`MPI_Reduce_scatter`); `send` and
    /// `receive` must not overlap. On one host with the single-node transport, float32 and bfloat16
    /// sums and averages read the peers' blocks directly and add them in rank order.
    public func reduceScatter<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                             counts: [Int], op: ReduceOp) throws {
        let type = T.commDataType
        try CommValidation.check(op: op, type: type, operation: "MPI_Reduce_scatter")
        try CommValidation.check(counts: counts, size: size, rank: rank, mine: receive.count, total: send.count,
                                 mineName: "receive", totalName: "send", operation: "MPI_Reduce_scatter")
        try queue.sync("MPI_Reduce_scatter") {
            let sendAddress = send.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(emptyAddress)
            let receiveAddress = UnsafeMutableRawPointer(receive.baseAddress) ?? emptyAddress
            if let singleNode, type == .float32 || type == .bfloat16, op == .sum || op == .average, send.count > 0 {
                try singleNode.reduceScatter(sendAddress, into: receiveAddress, counts: counts, type: type)
            } else {
                for r in 0..<size { countScratch[r] = Int32(counts[r]) }
                try MPIRuntime.check(
                    MPI_Reduce_scatter(sendAddress, receiveAddress, countScratch, type.mpi, ops.mpiOp(op, type), comm),
                    "MPI_Reduce_scatter")
            }
            if op == .average && size > 1 {
                ReductionKernels.divide(receiveAddress, count: receive.count, type: type, by: size)
            }
        }
    }

    /// A bare `MPI_Allreduce(MPI_IN_PLACE, ...)` with MPI's own op on the calling thread, bypassing
    /// the queue and all checks: for benchmarks that compare the library against raw MPI. Never call
    /// it while asynchronous operations are pending. `op` must not be `.average`.
    public func rawMPIAllreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        precondition(op != .average, "rawMPIAllreduce has no average; use .sum")
        precondition(buffer.count <= Int(Int32.max), "rawMPIAllreduce takes at most Int32.max elements")
        try MPIRuntime.check(
            MPI_Allreduce(cmpi_in_place(), UnsafeMutableRawPointer(buffer.baseAddress) ?? emptyAddress,
                          Int32(buffer.count), T.commDataType.mpi, op.mpi, comm),
            "MPI_Allreduce")
    }

    /// Finishes queued operations, frees the communicators and calls `MPI_Finalize` (once per
    /// process). Idempotent: later calls return at once.
    /// On one host with the single-node transport (and `PRETRAIN_PROGRESSIVE_SUM` not `0`): a
    /// `SingleNodeProgressiveSum`; otherwise nil.
    public func makeProgressiveSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> (any ProgressiveSum)? {
        guard let singleNode, ProcessInfo.processInfo.environment["PRETRAIN_PROGRESSIVE_SUM"] != "0" else { return nil }
        return SingleNodeProgressiveSum(transport: singleNode, buffer: buffer, count: count)
    }

    public func shutdown() throws {
        lifecycleLock.lock()
        let first = !isShutDown
        isShutDown = true
        lifecycleLock.unlock()
        guard first else { return }
        queue.close()
        var firstError: Error?
        do { try singleNode?.free() } catch { firstError = error }
        do { try ops.free() } catch { firstError = firstError ?? error }
        var local: MPI_Comm? = localComm
        do { try MPIRuntime.check(MPI_Comm_free(&local), "MPI_Comm_free") } catch { firstError = firstError ?? error }
        var dup: MPI_Comm? = comm
        do { try MPIRuntime.check(MPI_Comm_free(&dup), "MPI_Comm_free") } catch { firstError = firstError ?? error }
        do { try MPIRuntime.finalize() } catch { firstError = firstError ?? error }
        if let firstError { throw firstError }
    }

    /// Ends every rank of the job at once (`MPI_Abort`) with `exitCode`: for failures of this rank
    /// alone, when the others may be waiting in a collective. Never returns.
    public func abort(exitCode: Int32) -> Never {
        try? MPIRuntime.check(MPI_Abort(comm, exitCode), "MPI_Abort")
        exit(exitCode)
    }

    /// `MPI_Wtime()`: seconds since an arbitrary point, with MPI's clock.
    public static func wallTime() -> Double { MPI_Wtime() }

    // MARK: - Transport calls (run under the queue's turn)

    /// The largest element count passed to one MPI call; bigger buffers go in pieces.
    private static let chunkElements = 1 << 30

    /// `background`: running on the communication thread while the caller computes (the single-node
    /// path then sleeps early while it waits, leaving the core to compute), not blocking the caller.
    private func allreduceNow(_ base: UnsafeMutableRawPointer?, _ count: Int, _ type: CommDataType,
                              _ op: ReduceOp, background: Bool) throws {
        let address = base ?? emptyAddress
        if let singleNode, type == .float32 || type == .bfloat16, op == .sum || op == .average,
           count >= SingleNodeAllreduce.minimumElements {
            try singleNode.sum(address, count: count, type: type, pollMicroseconds: background ? 50 : 1000)
            if op == .average { ReductionKernels.divide(address, count: count, type: type, by: size) }
            return
        }
        if size > 2, op == .sum || op == .average, type == .float32 || type == .float64 || type == .bfloat16,
           count * type.byteWidth <= Self.rankOrderBytes, count * type.byteWidth * size <= Self.rankOrderGatherBytes {
            // Rounding depends on the order: add in rank order, as InProcessCommunicator does.
            let bytes = count * type.byteWidth
            try MPIRuntime.check(MPI_Allgather(address, Int32(count), type.mpi, gatherScratch, Int32(count), type.mpi, comm),
                                 "MPI_Allgather")
            address.copyMemory(from: gatherScratch, byteCount: bytes)
            for r in 1..<size {
                ReductionKernels.combine(into: address, from: gatherScratch + r * bytes, count: count, type: type, op: op)
            }
            if op == .average { ReductionKernels.divide(address, count: count, type: type, by: size) }
            return
        }
        var done = 0
        repeat {
            let n = min(count - done, Self.chunkElements)
            try MPIRuntime.check(
                MPI_Allreduce(cmpi_in_place(), address + done * type.byteWidth, Int32(n), type.mpi,
                              ops.mpiOp(op, type), comm),
                "MPI_Allreduce")
            done += n
        } while done < count
        if op == .average && size > 1 {
            ReductionKernels.divide(address, count: count, type: type, by: size)
        }
    }

    private func broadcastNow(_ base: UnsafeMutableRawPointer?, _ count: Int, _ type: CommDataType,
                              _ root: Int) throws {
        let address = base ?? emptyAddress
        guard let root32 = Int32(exactly: root) else {
            throw CommunicatorError.invalidArgument(operation: "MPI_Bcast", message: "root \(root) is out of range")
        }
        var done = 0
        repeat {
            let n = min(count - done, Self.chunkElements)
            try MPIRuntime.check(MPI_Bcast(address + done * type.byteWidth, Int32(n), type.mpi, root32, comm),
                                 "MPI_Bcast")
            done += n
        } while done < count
    }
}

extension CommDataType {
    /// The MPI datatype with this layout.
    var mpi: MPI_Datatype? {
        switch self {
        case .float32: return cmpi_float()
        case .float64: return cmpi_double()
        case .int32: return cmpi_int32()
        case .int64: return cmpi_int64()
        case .uint8: return cmpi_uint8()
        case .uint16, .bfloat16: return cmpi_uint16()
        case .uint64: return cmpi_uint64()
        }
    }
}

extension ReduceOp {
    /// The MPI operation that computes this reduction (`.average` reduces with `MPI_SUM`).
    var mpi: MPI_Op? {
        switch self {
        case .sum, .average: return cmpi_op_sum()
        case .max: return cmpi_op_max()
        case .min: return cmpi_op_min()
        }
    }
}
