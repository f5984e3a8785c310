import CMPI
import Foundation

/// A float32 or bfloat16 sum allreduce for ranks that all share one host: each rank reads and writes its peers'
/// buffers directly with Linux cross-memory attach (`process_vm_readv`, `process_vm_writev`) and
/// meets them only through flags in a small MPI shared-memory window.
///
/// Why not `MPI_Allreduce`: its ring runs in lock step, so each 1 MiB segment needs both ranks'
/// communication threads on a core at the same moment. When every core is busy with backward (one
/// rank per core), each thread busy-polls while its peer is descheduled, and those cycles come out of
/// compute. Here the only meeting points are two flags per call, and a rank that waits for one
/// sleeps on a futex (the peer's store wakes it: no polling while asleep); the copying and summing
/// run whenever the rank's own core has time.
///
/// For N ranks and a buffer of n floats cut into N parts, rank r, call number s:
/// 1. publish: write the buffer's address and length into r's slot, then `ready = s`;
/// 2. reduce and push: once every peer is ready, for each 256 KiB piece of part r, sum every rank's
///    piece in rank order into r's own buffer (the piece stays in cache), then write the sum into every
///    peer's buffer at the same place (`process_vm_writev`); `reduced = s`;
/// 3. wait until every peer has reduced: its part is in r's buffer, and it has finished reading r's
///    part of it; nobody touches r's buffer any more, so the caller may overwrite it on return.
/// Only rank r reads or writes part r of any buffer, so the phases need no other meeting point. Each
/// part is summed by one rank in rank order and then copied, so every rank ends bit-identical, and
/// identical to `InProcessCommunicator`. Pushing the sum while it is in cache, rather than letting each
/// peer read it back from memory afterwards, saves one pass over memory: on a 2-core Zen 3 VM the
/// 497 MB bench-m gradient went from parity with `MPI_Allreduce` to ~1.25× its speed.
///
/// bfloat16 (compressed gradients) moves half the bytes and sums each piece in rank order with
/// `BFloat16.add` (widen, add in `Float`, round once per addition: the in-process arithmetic), 16
/// lanes at a time, instead of `MPI_Allreduce` calling a user-defined op.
///
/// The same window and copies serve `reduceScatter` (ZeRO-1's gradients: each rank reads only its
/// block from its peers) and `allgatherv` (ZeRO-1's parameters, the deferred embedding rows: each
/// rank writes its block into its peers' buffers).
///
/// Built only when every rank is on this host, the kernel lets the ranks read and write each other's
/// memory (probed at start: containers may forbid it) and `PRETRAIN_SINGLE_NODE_ALLREDUCE` is not
/// `0`; otherwise `MPICommunicator` uses `MPI_Allreduce` alone. Runs on the communicator's queue,
/// one call at a time. Allocates nothing per call.
final class SingleNodeAllreduce {
    /// Calls below this many floats go to `MPI_Allreduce`, whose latency is lower for small messages.
    static let minimumElements = 4096
    /// Reduce-scatters and all-gathers moving fewer bytes in all go to MPI, for the same reason.
    static let minimumBytes = minimumElements * 4

    /// The `UInt64` fields of one rank's slot in the shared window.
    enum Field: Int {
        case ready = 0, reduced, address, count, pid, probeAddress
        /// The progressive sum's (`SingleNodeProgressiveSum`): buffer, length, (step << 32) | pieces
        /// final, a hash of the order they became final in; `claim` and `completed` ((step << 32) |
        /// pieces) are rank 0's only.
        case streamAddress, streamCount, progress, orderHash, claim, completed
    }

    /// Bytes between two ranks' slots: two cache lines, so no rank's flags share a line with another's.
    private static let slotBytes = 128
    /// Elements read from a peer per `process_vm_readv` in the reduce phase (256 KiB of floats, half of Zen 3's L2).
    static let pieceElements = 65_536
    /// The value the start-up probe reads from every peer.
    private static let probeMagic: UInt64 = 0x7072_6574_7261_696E

    let rank: Int
    let size: Int
    private var window: MPI_Win?
    private(set) var slots: [UnsafeMutablePointer<UInt64>] = []
    private(set) var pids: [pid_t] = []
    private var addresses: [UInt64]
    private var sequence: UInt64 = 0
    /// Progressive sums begun so far (their step numbers, shared by every `SingleNodeProgressiveSum`).
    private var streamSteps: UInt64 = 0
    /// Bytes per element of the call in progress (4 float32, 2 bfloat16).
    var width = 4
    /// Cache-sized pieces: a peer's elements as read, and the running rank-order sum.
    private let incoming: UnsafeMutablePointer<Float>
    private let sum: UnsafeMutablePointer<Float>
    private let probe: UnsafeMutablePointer<UInt64>

    /// Sets up the window over `localComm` (collective over it) and probes cross-memory attach.
    /// Returns nil on every rank, after freeing what it made, when any rank could not read a peer.
    static func make(localComm: MPI_Comm?, rank: Int, size: Int) throws -> SingleNodeAllreduce? {
        let shared = try SingleNodeAllreduce(localComm: localComm, rank: rank, size: size)
        var ok: Int32 = shared.probePeers() ? 1 : 0
        try MPIRuntime.check(MPI_Allreduce(cmpi_in_place(), &ok, 1, cmpi_int32(), cmpi_op_min(), localComm),
                             "MPI_Allreduce")
        if ok == 1 { return shared }
        try shared.free()
        return nil
    }

    private init(localComm: MPI_Comm?, rank: Int, size: Int) throws {
        self.rank = rank
        self.size = size
        addresses = [UInt64](repeating: 0, count: size)
        incoming = .allocate(capacity: Self.pieceElements)
        sum = .allocate(capacity: Self.pieceElements)
        probe = .allocate(capacity: 1)
        probe.initialize(to: Self.probeMagic)
        var base: UnsafeMutableRawPointer?
        var win: MPI_Win? = cmpi_win_null()
        try MPIRuntime.check(
            MPI_Win_allocate_shared(MPI_Aint(Self.slotBytes), 1, cmpi_info_null(), localComm, &base, &win),
            "MPI_Win_allocate_shared")
        window = win
        try MPIRuntime.check(MPI_Win_lock_all(Int32(MPI_MODE_NOCHECK), win), "MPI_Win_lock_all")
        for q in 0..<size {
            var bytes: MPI_Aint = 0
            var unit: Int32 = 0
            var pointer: UnsafeMutableRawPointer?
            try MPIRuntime.check(MPI_Win_shared_query(win, Int32(q), &bytes, &unit, &pointer), "MPI_Win_shared_query")
            guard let pointer, bytes >= Self.slotBytes else {
                throw CommunicatorError.unsupported(operation: "MPI_Win_shared_query",
                                                    message: "rank \(q)'s shared slot is missing")
            }
            slots.append(pointer.bindMemory(to: UInt64.self, capacity: Self.slotBytes / 8))
        }
        let mine = slots[rank]
        for i in 0..<(Self.slotBytes / 8) { cmpi_store_release(mine + i, 0) }
        cmpi_store_release(mine + Field.pid.rawValue, UInt64(getpid()))
        cmpi_store_release(mine + Field.probeAddress.rawValue, UInt64(UInt(bitPattern: probe)))
        try MPIRuntime.check(MPI_Barrier(localComm), "MPI_Barrier")
        pids = slots.map { pid_t(truncatingIfNeeded: cmpi_load_acquire($0 + Field.pid.rawValue)) }
    }

    deinit {
        incoming.deallocate()
        sum.deallocate()
        probe.deallocate()
    }

    /// Whether this rank can read every peer's probe word and write it back.
    private func probePeers() -> Bool {
        for q in 0..<size where q != rank {
            var value: UInt64 = 0
            let remote = cmpi_load_acquire(slots[q] + Field.probeAddress.rawValue)
            let n = cmpi_read_peer(pids[q], &value, remote, 8)
            if n != 8 || value != Self.probeMagic { return false }
            if cmpi_write_peer(pids[q], &value, remote, 8) != 8 { return false }
        }
        return true
    }

    /// Frees the window (collective over the local communicator). Idempotent.
    func free() throws {
        guard window != nil else { return }
        try MPIRuntime.check(MPI_Win_unlock_all(window), "MPI_Win_unlock_all")
        try MPIRuntime.check(MPI_Win_free(&window), "MPI_Win_free")
        window = nil
        slots = []
    }

    /// The next progressive-sum step number (1, 2, …): every rank begins them in the same order.
    func nextStreamStep() -> UInt64 {
        streamSteps += 1
        return streamSteps
    }

    /// Sums `count` floats at `buffer` across the ranks, in place; every rank must call it with the same
    /// count, in the same order relative to its other calls. A rank waiting for its peers polls for
    /// `pollMicroseconds`, then sleeps until woken: short while backward runs beside it (the core is
    /// better spent on compute), long when the caller blocks on the call anyway (no wake-up latency).
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int, pollMicroseconds: Int = 50) throws {
        try sum(UnsafeMutableRawPointer(buffer), count: count, type: .float32, pollMicroseconds: pollMicroseconds)
    }

    /// `sum` over `count` elements of `type`, `.float32` or `.bfloat16` (raw bits).
    func sum(_ buffer: UnsafeMutableRawPointer, count: Int, type: CommDataType, pollMicroseconds: Int = 50) throws {
        precondition(type == .float32 || type == .bfloat16, "the single-node allreduce sums float32 or bfloat16")
        width = type.byteWidth
        let s = try meet(buffer, count: count, operation: "allreduce", polling: pollMicroseconds)

        // My part, piece by piece: summed in rank order ((p0 + p1) + p2) + … as the in-process
        // communicator does, whichever rank owns the part, then pushed to every peer while in cache
        // (starting after my own rank, so that the ranks do not all write to the same peer at once).
        let part = Self.part(rank, of: count, ranks: size)
        var offset = part.lowerBound
        while offset < part.upperBound {
            let n = min(Self.pieceElements, part.upperBound - offset)
            let piece = buffer + offset * width
            try reducePiece(piece, offset: offset, count: n)
            for step in 1..<size { try write(to: (rank + step) % size, offset: offset, count: n, from: piece) }
            offset += n
        }
        publish(.reduced, s)
        for q in 0..<size where q != rank { wait(for: q, .reduced, atLeast: s, polling: pollMicroseconds) }
    }

    /// Starts call number `sequence + 1`: publishes `buffer` and `count`, waits until every peer has
    /// published its own, checks the counts agree and reads the peers' addresses. Returns the call's number.
    private func meet(_ buffer: UnsafeMutableRawPointer, count: Int, operation: String, polling: Int) throws -> UInt64 {
        precondition(window != nil, "SingleNodeAllreduce used after free()")
        sequence += 1
        let s = sequence
        let mine = slots[rank]
        cmpi_store_release(mine + Field.address.rawValue, UInt64(UInt(bitPattern: buffer)))
        cmpi_store_release(mine + Field.count.rawValue, UInt64(count))
        publish(.ready, s)
        for q in 0..<size where q != rank {
            wait(for: q, .ready, atLeast: s, polling: polling)
            let theirs = Int(cmpi_load_acquire(slots[q] + Field.count.rawValue))
            guard theirs == count else {
                throw CommunicatorError.invalidArgument(
                    operation: operation,
                    message: "rank \(rank) passes \(count) elements in all but rank \(q) passes \(theirs); every rank must pass the same counts")
            }
            addresses[q] = cmpi_load_acquire(slots[q] + Field.address.rawValue)
        }
        return s
    }

    /// Reduce-scatter of `counts` (one block per rank, in rank order) float32 or bfloat16 elements:
    /// block r of every rank's `send`, summed in rank order as `sum` does, lands in rank r's
    /// `receive`. Nothing is pushed: each rank reads its block from every peer, then waits until
    /// every peer has finished reading from it (its `send` is the caller's again on return).
    func reduceScatter(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, counts: [Int], type: CommDataType) throws {
        precondition(type == .float32 || type == .bfloat16, "the single-node reduce-scatter sums float32 or bfloat16")
        precondition(counts.count == size, "one count per rank")
        width = type.byteWidth
        let s = try meet(UnsafeMutableRawPointer(mutating: send), count: counts.reduce(0, +), operation: "reduce-scatter", polling: 1000)
        let start = counts[0..<rank].reduce(0, +)
        var done = 0
        while done < counts[rank] {
            // `reducePiece` sums into a piece that holds this rank's own elements.
            let n = min(Self.pieceElements, counts[rank] - done)
            let target = receive + done * width
            target.copyMemory(from: send + (start + done) * width, byteCount: n * width)
            try reducePiece(target, offset: start + done, count: n)
            done += n
        }
        publish(.reduced, s)
        for q in 0..<size where q != rank { wait(for: q, .reduced, atLeast: s, polling: 1000) }
    }

    /// All-gather of `counts` (one block per rank, in rank order) elements of `width` bytes: each rank
    /// copies its block into its own `receive` and writes it into every peer's, then waits until
    /// every peer has written its block.
    func allgatherv(_ send: UnsafeRawPointer, into receive: UnsafeMutableRawPointer, counts: [Int], width: Int) throws {
        precondition(counts.count == size, "one count per rank")
        self.width = width
        let s = try meet(receive, count: counts.reduce(0, +), operation: "allgatherv", polling: 1000)
        let start = counts[0..<rank].reduce(0, +)
        let block = receive + start * width
        block.copyMemory(from: send, byteCount: counts[rank] * width)
        if counts[rank] > 0 {
            for step in 1..<size { try write(to: (rank + step) % size, offset: start, count: counts[rank], from: block) }
        }
        publish(.reduced, s)
        for q in 0..<size where q != rank { wait(for: q, .reduced, atLeast: s, polling: 1000) }
    }

    /// Sums every rank's elements `offset ..< offset + count` in rank order into `target` (my copy).
    private func reducePiece(_ target: UnsafeMutableRawPointer, offset: Int, count n: Int) throws {
        try reducePiece(target, offset: offset, count: n, bases: addresses, incoming: incoming, sum: sum)
    }

    /// Sums every rank's elements `offset ..< offset + count` of the buffers at `bases` (peers'
    /// addresses) in rank order into `target` (my copy), with two cache-sized scratch pieces.
    func reducePiece(_ target: UnsafeMutableRawPointer, offset: Int, count n: Int, bases: [UInt64],
                     incoming: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Float>) throws {
        if rank == 0 {
            for q in 1..<size {
                try read(from: q, at: bases[q], offset: offset, count: n, into: incoming)
                add(UnsafeRawPointer(target), UnsafeRawPointer(incoming), into: target, count: n)
            }
            return
        }
        try read(from: 0, at: bases[0], offset: offset, count: n, into: sum)
        for q in 1..<size {
            var next = UnsafeRawPointer(target)
            if q != rank {
                try read(from: q, at: bases[q], offset: offset, count: n, into: incoming)
                next = UnsafeRawPointer(incoming)
            }
            let destination = q == size - 1 ? target : UnsafeMutableRawPointer(sum)
            add(UnsafeRawPointer(sum), next, into: destination, count: n)
        }
    }

    /// destination = a + b, `n` elements of the call's type.
    @inline(__always)
    private func add(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, into destination: UnsafeMutableRawPointer, count n: Int) {
        if width == 2 { return BFloat16.add(a, b, into: destination, count: n) }
        ReductionKernels.add(a.assumingMemoryBound(to: Float.self), b.assumingMemoryBound(to: Float.self),
                             into: destination.assumingMemoryBound(to: Float.self), count: n)
    }

    /// Part `q` of `count` elements split among `ranks`.
    static func part(_ q: Int, of count: Int, ranks: Int) -> Range<Int> {
        (q * count / ranks)..<((q + 1) * count / ranks)
    }

    /// Copies `count` elements at element `offset` of peer `q`'s buffer at `base` into `destination`.
    private func read(from q: Int, at base: UInt64, offset: Int, count: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try copy("process_vm_readv", peer: q, base: base, offset: offset, count: count, local: UnsafeMutableRawPointer(destination)) {
            cmpi_read_peer($0, $1, $2, $3)
        }
    }

    /// Copies `count` elements from `source` to element `offset` of peer `q`'s published buffer.
    private func write(to q: Int, offset: Int, count: Int, from source: UnsafeMutableRawPointer) throws {
        try write(to: q, at: addresses[q], offset: offset, count: count, from: source)
    }

    /// Copies `count` elements from `source` to element `offset` of peer `q`'s buffer at `base`.
    func write(to q: Int, at base: UInt64, offset: Int, count: Int, from source: UnsafeMutableRawPointer) throws {
        try copy("process_vm_writev", peer: q, base: base, offset: offset, count: count, local: source) {
            cmpi_write_peer($0, $1, $2, $3)
        }
    }

    /// Moves `count` elements between `local` and element `offset` of peer `q`'s buffer at `base` with
    /// `call` (named `name`), which may move fewer bytes than asked; repeats until all have moved.
    private func copy(_ name: String, peer q: Int, base: UInt64, offset: Int, count: Int, local: UnsafeMutableRawPointer,
                      _ call: (pid_t, UnsafeMutableRawPointer, UInt64, Int) -> Int) throws {
        var done = 0
        let bytes = count * width
        let remote = base + UInt64(offset * width)
        while done < bytes {
            let n = call(pids[q], local + done, remote + UInt64(done), bytes - done)
            guard n > 0 else {
                let code = n < 0 ? errno : 0
                let reason = n < 0 ? String(cString: strerror(code)) : "nothing was copied"
                // A peer that is gone (the job is ending, or it died) is not the transport's fault.
                if code == ESRCH {
                    throw CommunicatorError.unsupported(
                        operation: name, message: "rank \(rank) could not reach rank \(q)'s gradients: rank \(q)'s process is gone (\(reason))")
                }
                throw CommunicatorError.unsupported(
                    operation: name,
                    message: "rank \(rank) could not reach rank \(q)'s gradients (\(reason)); "
                        + "set PRETRAIN_SINGLE_NODE_ALLREDUCE=0 to use MPI_Allreduce instead")
            }
            done += n
        }
    }

    /// Sets my `field` to `value` and wakes the peers sleeping on it.
    func publish(_ field: Field, _ value: UInt64) {
        let flag = slots[rank] + field.rawValue
        cmpi_store_release(flag, value)
        _ = cmpi_futex_wake(flag)
    }

    /// Waits until peer `q`'s `field` reaches `value`: polls for up to `polling` µs (peers that are
    /// nearly there), then sleeps on the flag's futex until the peer's `publish` wakes it. The 2 ms
    /// timeout only bounds a wake-up that never comes (the flag is re-read after every wake).
    func wait(for q: Int, _ field: Field, atLeast value: UInt64, polling: Int) {
        let flag = slots[q] + field.rawValue
        if cmpi_load_acquire(flag) >= value { return }
        let spinUntil = DispatchTime.now().uptimeNanoseconds + UInt64(polling) * 1000
        var polls = 0
        while cmpi_load_acquire(flag) < value {
            polls += 1
            if polls & 63 == 0, DispatchTime.now().uptimeNanoseconds > spinUntil { break }
        }
        while true {
            let seen = cmpi_load_acquire(flag)
            if seen >= value { return }
            _ = cmpi_futex_wait(flag, UInt32(truncatingIfNeeded: seen), 2_000_000)
        }
    }
}
