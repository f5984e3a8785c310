/// A group of ranks that exchange buffers collectively; knows only memory, never model types.
///
/// Implementations: `MPICommunicator` (processes under mpirun/srun, or a single process),
/// `InProcessCommunicator` (ranks as threads of one process, a test double) and
/// `InstrumentedCommunicator` (counts calls and bytes, optionally slows any communicator down).
///
/// Rules every caller follows, as with MPI:
/// - Collectives are matched by order: every rank issues the same sequence of collectives, with the
///   same element type, op, root and counts. Issue them from one thread per rank (the owner).
/// - Synchronous and asynchronous calls share one FIFO: an operation starts only when every
///   operation issued before it on this rank has finished.
/// - Buffers are borrowed, not copied: a synchronous call uses the buffer only until it returns, an
///   asynchronous one until its `CommRequest` completes.
/// - `ReduceOp.average` exists for floating-point types only (see `ReduceOp`).
/// Counts are in elements, never bytes.
public protocol Communicator: AnyObject {
    /// This process's index in the group, `0..<size`.
    var rank: Int { get }
    /// The number of ranks in the group.
    var size: Int { get }
    /// This rank's index among the ranks on the same host (shared memory), `0..<localSize`.
    var localRank: Int { get }
    /// The number of ranks on this host.
    var localSize: Int { get }
    /// A short name of the backend for logs, e.g. "mpi" or "in-process".
    var backendName: String { get }

    /// Blocks until every rank has called `barrier`.
    func barrier() throws

    /// Replaces `buffer` on every rank with the contents of `buffer` on `root`.
    func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws

    /// Reduces `buffer` element-wise across all ranks, in place: afterwards every rank holds the result.
    func allreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws

    /// Issues `allreduce(buffer, op:)` on the communication thread and returns immediately.
    ///
    /// Overlap compute with it, then `wait()`. Argument errors (e.g. average of integers) are
    /// reported by `wait()`.
    func allreduceAsync<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) -> CommRequest

    /// Gathers uneven blocks: rank r contributes `counts[r]` elements (`send.count == counts[rank]`),
    /// and every rank receives all blocks concatenated in rank order (`receive.count == counts.sum`).
    func allgatherv<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                   counts: [Int]) throws

    /// Reduces `send` (length `counts.sum`) element-wise across ranks and leaves this rank only its
    /// block: elements `counts[0..<rank].sum ..< +counts[rank]` of the result, in `receive`
    /// (length `counts[rank]`).
    func reduceScatter<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                      counts: [Int], op: ReduceOp) throws

    /// A progressive float32 sum of the `count` floats at `buffer` (see `ProgressiveSum`), or nil where
    /// the transport has none (the caller then reduces with `allreduce` after backward). Collective:
    /// every rank calls it, in the same place of its sequence of calls, and every rank gets nil or none does.
    func makeProgressiveSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> (any ProgressiveSum)?

    /// Finishes queued work, stops the communication thread and releases the transport (MPI:
    /// `MPI_Finalize`, exactly once per process). Idempotent; later operations throw `.shutDown`.
    func shutdown() throws
}

extension Communicator {
    /// None: reduce with `allreduce` after backward.
    public func makeProgressiveSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> (any ProgressiveSum)? { nil }
}
