import Foundation

/// A correctness suite for any `Communicator`: every operation, several element types and sizes,
/// each result checked against values computed independently from what every rank contributed.
///
/// Collective: every rank of the group calls `run` and gets the same list (pass/fail agreed across
/// ranks, digests combined over ranks). Inputs are deterministic functions of (element index, rank,
/// check); floating-point inputs are small integers, so sums are exact in any order and results of
/// different backends (MPI, in-process) must agree bit for bit — compare their `digest`s. One check
/// uses non-integer floats and a tolerance instead (its digest is nil). The last checks provoke an
/// error (broadcast from root `size + 5`) and then verify the communicator still works.
/// Used by `pretrain selftest comm` and by the tests.
public struct CommSelfTest {
    /// Element counts of the float32 allreduce checks.
    public let sizes: [Int]

    /// The default sizes: empty, one, odd, about a million (not a multiple of anything), 64 MiB.
    public static let defaultSizes = [0, 1, 7, 1_000_003, 16 << 20]

    /// Whether to add, per size, a float32 sum of fractional values checked with a tolerance and with a
    /// digest: its rounding depends on the order the ranks are added in, so its digest matches another
    /// backend's only where both add in rank order (in process, and the single-node MPI path).
    public let fractional: Bool

    /// A suite whose float32 allreduce checks use `sizes` elements.
    public init(sizes: [Int] = CommSelfTest.defaultSizes, fractional: Bool = false) {
        precondition(sizes.allSatisfy { $0 >= 0 }, "sizes cannot be negative")
        self.sizes = sizes
        self.fractional = fractional
    }

    /// Outcome of one check on this rank.
    struct Local {
        var failure: String?
        var digest: UInt64?
        var note: String?
    }

    /// Runs the suite (as `run(on:)`) with rank `corruptingRank` lying: after every real allreduce it
    /// adds 1 to the result's first element, so the suite must report failures on exactly that rank.
    /// Only for testing the self-test (`pretrain selftest comm --corrupt-rank`).
    public func run(on comm: any Communicator, corruptingRank: Int?) throws -> [CommCheckResult] {
        try run(on: corruptingRank == comm.rank ? CorruptingCommunicator(comm) : comm)
    }

    /// Runs every check on `comm` (collective) and returns the results, identical on every rank.
    /// Throws only if combining the outcomes across ranks fails; a failing check is a result.
    public func run(on comm: any Communicator) throws -> [CommCheckResult] {
        var names: [String] = []
        var locals: [Local] = []
        var times: [Double] = []
        func check(_ name: String, _ body: () throws -> Local) {
            let start = Date()
            var outcome: Local
            do { outcome = try body() } catch { outcome = Local(failure: "threw: \(error)") }
            names.append(name)
            locals.append(outcome)
            times.append(Date().timeIntervalSince(start))
        }
        let n = comm.size

        check("barrier") { try comm.barrier(); return Local() }
        check("layout rank/size/localRank/localSize") { try checkLayout(comm) }

        for count in sizes {
            for op in [ReduceOp.sum, .average, .max] {
                check("allreduce float32 \(op) n=\(count)") { try allreduce(comm, Float.self, op, count, salt: 1) }
            }
        }
        for count in sizes where fractional {
            check("allreduce float32 sum n=\(count) fractional") { try allreduceWithTolerance(comm, count, salt: 13, digest: true) }
        }
        if fractional {
            check("allreduce float64 sum n=7 fractional") { try smallDoubleSum(comm, salt: 15) }
        }
        check("allreduce float32 min n=1003") { try allreduce(comm, Float.self, .min, 1003, salt: 2) }
        for op in [ReduceOp.sum, .average, .max] {
            check("allreduce float64 \(op) n=1003") { try allreduce(comm, Double.self, op, 1003, salt: 3) }
        }
        for count in [1, 100_003] {
            check("allreduce int32 sum n=\(count)") { try allreduce(comm, Int32.self, .sum, count, salt: 4) }
            check("allreduce int32 max n=\(count)") { try allreduce(comm, Int32.self, .max, count, salt: 5) }
            check("allreduce uint8 sum n=\(count)") { try allreduce(comm, UInt8.self, .sum, count, salt: 6) }
            check("allreduce uint8 max n=\(count)") { try allreduce(comm, UInt8.self, .max, count, salt: 7) }
        }
        for count in [1003, 100_003] {   // the larger one through the single-node path where there is one
            for op in [ReduceOp.sum, .average, .max] {
                check("allreduce bfloat16 \(op) n=\(count)") { try allreduce(comm, BFloat16.self, op, count, salt: 14) }
            }
        }
        check("allreduce int64 sum n=1003") { try allreduce(comm, Int64.self, .sum, 1003, salt: 8) }
        check("allreduce uint16 sum n=1003") { try allreduce(comm, UInt16.self, .sum, 1003, salt: 9) }
        check("allreduce uint64 sum n=1003") { try allreduce(comm, UInt64.self, .sum, 1003, salt: 10) }
        check("allreduce uint64 max n=1003") { try allreduce(comm, UInt64.self, .max, 1003, salt: 11) }
        check("allreduce float32 sum non-integer n=1003") { try allreduceWithTolerance(comm, 1003, salt: 12) }
        check("allreduce int32 average is rejected") {
            try expectUnsupported { var x: [Int32] = [1, 2]; try comm.allreduce(&x, op: .average) }
        }

        for count in [0, 7, 1_000_003] {
            check("broadcast float32 root=\(n - 1) n=\(count)") { try broadcast(comm, Float.self, count, salt: 20) }
        }
        check("broadcast int32 root=\(n - 1) n=1003") { try broadcast(comm, Int32.self, 1003, salt: 21) }
        check("broadcast uint8 root=\(n - 1) n=7") { try broadcast(comm, UInt8.self, 7, salt: 22) }

        let small = (0..<n).map { $0 == 1 ? 0 : 1000 + 37 * $0 }
        let large = (0..<n).map { $0 == 1 ? 0 : 250_000 + 7_919 * $0 }
        check("allgatherv float32 counts=\(small)") { try allgatherv(comm, Float.self, small, salt: 30) }
        check("allgatherv float32 counts=\(large)") { try allgatherv(comm, Float.self, large, salt: 31) }
        check("allgatherv int64 counts=\(small)") { try allgatherv(comm, Int64.self, small, salt: 32) }
        check("allgatherv uint16 counts=\(small)") { try allgatherv(comm, UInt16.self, small, salt: 33) }

        for op in [ReduceOp.sum, .average, .max] {
            check("reduceScatter float32 \(op) counts=\(large)") {
                try reduceScatter(comm, Float.self, op, large, salt: 40)
            }
        }
        check("reduceScatter float32 sum counts=\(small)") { try reduceScatter(comm, Float.self, .sum, small, salt: 46) }
        check("reduceScatter bfloat16 sum counts=\(large)") { try reduceScatter(comm, BFloat16.self, .sum, large, salt: 44) }
        if fractional {
            check("reduceScatter float32 sum counts=\(large) fractional") { try reduceScatterWithTolerance(comm, large, salt: 45) }
        }
        check("reduceScatter int32 sum counts=\(small)") { try reduceScatter(comm, Int32.self, .sum, small, salt: 41) }
        check("reduceScatter uint8 max counts=\(small)") { try reduceScatter(comm, UInt8.self, .max, small, salt: 42) }
        check("reduceScatter uint16 sum counts=\(small)") { try reduceScatter(comm, UInt16.self, .sum, small, salt: 43) }

        check("async allreduce mixed batch, out-of-order waits") { try asyncBatch(comm) }
        check("async allreduce 32 x 1024 float32 sum, waitAll") { try asyncMany(comm) }
        check("async allreduce int32 average is rejected") {
            try expectUnsupported {
                var x: [Int32] = [1, 2]
                try x.withUnsafeMutableBufferPointer { try comm.allreduceAsync($0, op: .average).wait() }
            }
        }

        check("progressive sum float32 n=1000003, ranks at different speeds") {
            try progressiveSum(comm, count: 1_000_003, salt: 60, fractional: false)
        }
        if fractional {
            check("progressive sum float32 n=1000003 fractional, ranks at different speeds") {
                try progressiveSum(comm, count: 1_000_003, salt: 62, fractional: true)
            }
        }
        check("progressive sum float32 n=1000003, the rank done first sums every piece") {
            try progressiveSumByTheEarlyRank(comm, count: 1_000_003, salt: 61)
        }

        check("broadcast root=\(n + 5) raises an error naming the call") { try badRoot(comm) }
        check("allreduce after an error still works") { try allreduce(comm, Int32.self, .sum, 7, salt: 50) }

        return try agree(comm, names: names, locals: locals, times: times)
    }

    // MARK: - Checks

    private func checkLayout(_ comm: any Communicator) throws -> Local {
        guard comm.size >= 1, (0..<comm.size).contains(comm.rank), comm.localSize >= 1,
              (0..<comm.localSize).contains(comm.localRank), comm.localSize <= comm.size else {
            return Local(failure: "rank \(comm.rank) size \(comm.size) localRank \(comm.localRank) "
                         + "localSize \(comm.localSize) are inconsistent")
        }
        // Every host contributes its local size once (from its local rank 0): the total is the size.
        let hostsTotal = try comm.allreduce(Int64(comm.localRank == 0 ? comm.localSize : 0), op: .sum)
        let ranks = try comm.allreduce(Int64(1), op: .sum)
        guard hostsTotal == Int64(comm.size), ranks == Int64(comm.size) else {
            return Local(failure: "local sizes add up to \(hostsTotal) and ranks to \(ranks), size is \(comm.size)")
        }
        return Local(note: "\(comm.size) ranks, local \(comm.localRank) of \(comm.localSize)")
    }

    private func allreduce<T: SelfTestElement>(_ comm: any Communicator, _: T.Type, _ op: ReduceOp, _ count: Int,
                                              salt: Int) throws -> Local {
        let buffer = filled(T.self, count: count, rank: comm.rank, salt: salt)
        defer { buffer.deallocate() }
        try comm.allreduce(buffer, op: op)
        let ranks = comm.size
        return verified(buffer) { i in T.reference(op, ranks: ranks) { r in T.make(selfTestBits(i, r, salt)) } }
    }

    private func allreduceWithTolerance(_ comm: any Communicator, _ count: Int, salt: Int, digest: Bool = false) throws -> Local {
        func value(_ i: Int, _ r: Int) -> Float { Float(selfTestBits(i, r, salt) % 1_000_000) / 997 - 500 }
        var buffer = (0..<count).map { value($0, comm.rank) }
        try comm.allreduce(&buffer, op: .sum)
        if let failure = Self.sumFailure(buffer, ranks: comm.size, value) { return Local(failure: failure) }
        return digest ? Local(digest: buffer.withUnsafeBytes { selfTestDigest($0) }) : Local()
    }

    /// A float64 sum of seven fractional values (a loss, a squared norm): checked with a tolerance, and
    /// its digest shows the order the ranks were added in (rank order everywhere).
    private func smallDoubleSum(_ comm: any Communicator, salt: Int) throws -> Local {
        func value(_ i: Int, _ r: Int) -> Double { Double(selfTestBits(i, r, salt) % 1_000_000) / 997 - 500 }
        var buffer = (0..<7).map { value($0, comm.rank) }
        try comm.allreduce(&buffer, op: .sum)
        if let failure = Self.sumFailure(buffer, ranks: comm.size, tolerance: 1e-12, value) { return Local(failure: failure) }
        return Local(digest: buffer.withUnsafeBytes { selfTestDigest($0) })
    }

    /// A float32 reduce-scatter sum of fractional values, checked with a tolerance; the digest of this
    /// rank's block shows the order of the additions (rank order everywhere).
    private func reduceScatterWithTolerance(_ comm: any Communicator, _ counts: [Int], salt: Int) throws -> Local {
        func value(_ i: Int, _ r: Int) -> Float { Float(selfTestBits(i, r, salt) % 1_000_000) / 997 - 500 }
        let send = (0..<counts.reduce(0, +)).map { value($0, comm.rank) }
        var receive = [Float](repeating: 0, count: counts[comm.rank])
        try send.withUnsafeBufferPointer { s in
            try receive.withUnsafeMutableBufferPointer { try comm.reduceScatter(s, into: $0, counts: counts, op: .sum) }
        }
        let offset = counts[0..<comm.rank].reduce(0, +)
        if let failure = Self.sumFailure(receive, ranks: comm.size, { value(offset + $0, $1) }) { return Local(failure: failure) }
        return Local(digest: receive.withUnsafeBytes { selfTestDigest($0) })
    }

    /// The first element of `result` farther than `tolerance` × the ranks' magnitudes from the exact
    /// sum over ranks of `value(i, rank)`, described; nil when every element is within.
    static func sumFailure<C: RandomAccessCollection, E: BinaryFloatingPoint>(_ result: C, ranks: Int, tolerance: Double = 1e-6,
                                                                             _ value: (Int, Int) -> E) -> String?
        where C.Element == E, C.Index == Int {
        for i in result.indices {
            let exact = (0..<ranks).reduce(0.0) { $0 + Double(value(i, $1)) }
            let scale = (0..<ranks).reduce(0.0) { $0 + abs(Double(value(i, $1))) }
            if abs(Double(result[i]) - exact) > tolerance * scale + 1e-30 {
                return "element \(i): expected \(exact) ± \(tolerance * scale), got \(result[i])"
            }
        }
        return nil
    }

    private func broadcast<T: SelfTestElement>(_ comm: any Communicator, _: T.Type, _ count: Int,
                                              salt: Int) throws -> Local {
        let root = comm.size - 1
        let buffer = filled(T.self, count: count, rank: comm.rank, salt: salt)
        defer { buffer.deallocate() }
        try comm.broadcast(buffer, root: root)
        return verified(buffer) { i in T.make(selfTestBits(i, root, salt)) }
    }

    private func allgatherv<T: SelfTestElement>(_ comm: any Communicator, _: T.Type, _ counts: [Int],
                                               salt: Int) throws -> Local {
        let send = filled(T.self, count: counts[comm.rank], rank: comm.rank, salt: salt)
        defer { send.deallocate() }
        let receive = UnsafeMutableBufferPointer<T>.allocate(capacity: counts.reduce(0, +))
        defer { receive.deallocate() }
        try comm.allgatherv(UnsafeBufferPointer(send), into: receive, counts: counts)
        // Element i of the result is element i - start[r] of the block of the rank r that owns it.
        var start: [Int] = []
        var offset = 0
        for c in counts { start.append(offset); offset += c }
        return verified(receive) { i in
            var r = 0
            while i >= start[r] + counts[r] { r += 1 }
            return T.make(selfTestBits(i - start[r], r, salt))
        }
    }

    private func reduceScatter<T: SelfTestElement>(_ comm: any Communicator, _: T.Type, _ op: ReduceOp,
                                                  _ counts: [Int], salt: Int) throws -> Local {
        let total = counts.reduce(0, +)
        let send = filled(T.self, count: total, rank: comm.rank, salt: salt)
        defer { send.deallocate() }
        let receive = UnsafeMutableBufferPointer<T>.allocate(capacity: counts[comm.rank])
        defer { receive.deallocate() }
        try comm.reduceScatter(UnsafeBufferPointer(send), into: receive, counts: counts, op: op)
        let offset = counts[0..<comm.rank].reduce(0, +)
        let ranks = comm.size
        return verified(receive) { i in
            T.reference(op, ranks: ranks) { r in T.make(selfTestBits(offset + i, r, salt)) }
        }
    }

    /// Async requests of mixed types with a synchronous call between them, waited in another order.
    private func asyncBatch(_ comm: any Communicator) throws -> Local {
        let a = filled(Float.self, count: 1_000_003, rank: comm.rank, salt: 60)
        let b = filled(Int32.self, count: 1003, rank: comm.rank, salt: 61)
        let c = filled(Double.self, count: 7, rank: comm.rank, salt: 62)
        let d = filled(Float.self, count: 1003, rank: comm.rank, salt: 63)
        defer { a.deallocate(); b.deallocate(); c.deallocate(); d.deallocate() }
        let ra = comm.allreduceAsync(a, op: .sum)
        let rb = comm.allreduceAsync(b, op: .max)
        try comm.allreduce(c, op: .sum)  // issued after a and b: runs after them on every rank
        let rd = comm.allreduceAsync(d, op: .average)
        try rd.wait()
        try ra.wait()
        try rb.wait()
        guard ra.isComplete, rb.isComplete, rd.isComplete else { return Local(failure: "a waited request is not complete") }
        let ranks = comm.size
        let parts = [
            verified(a) { i in Float.reference(.sum, ranks: ranks) { Float.make(selfTestBits(i, $0, 60)) } },
            verified(b) { i in Int32.reference(.max, ranks: ranks) { Int32.make(selfTestBits(i, $0, 61)) } },
            verified(c) { i in Double.reference(.sum, ranks: ranks) { Double.make(selfTestBits(i, $0, 62)) } },
            verified(d) { i in Float.reference(.average, ranks: ranks) { Float.make(selfTestBits(i, $0, 63)) } },
        ]
        if let failed = parts.first(where: { $0.failure != nil }) { return failed }
        return Local(digest: parts.reduce(0) { $0 &* 31 &+ ($1.digest ?? 0) })
    }

    /// Many small async requests in flight at once, completed with `waitAll`.
    private func asyncMany(_ comm: any Communicator) throws -> Local {
        let buffers = (0..<32).map { filled(Float.self, count: 1024, rank: comm.rank, salt: 70 + $0) }
        defer { buffers.forEach { $0.deallocate() } }
        try CommRequest.waitAll(buffers.map { comm.allreduceAsync($0, op: .sum) })
        let ranks = comm.size
        var digest: UInt64 = 0
        for (k, buffer) in buffers.enumerated() {
            let part = verified(buffer) { i in Float.reference(.sum, ranks: ranks) { Float.make(selfTestBits(i, $0, 70 + k)) } }
            if part.failure != nil { return part }
            digest = digest &* 31 &+ (part.digest ?? 0)
        }
        return Local(digest: digest)
    }

    private func expectUnsupported(_ body: () throws -> Void) throws -> Local {
        do {
            try body()
            return Local(failure: "no error was thrown")
        } catch let error as CommunicatorError {
            guard case .unsupported = error else { return Local(failure: "wrong error: \(error)") }
            return Local()
        }
    }

    private func badRoot(_ comm: any Communicator) throws -> Local {
        var buffer: [Float] = [1, 2, 3]
        do {
            try comm.broadcast(&buffer, root: comm.size + 5)
            return Local(failure: "broadcast with root \(comm.size + 5) did not throw")
        } catch let error as CommunicatorError {
            let call = error.operation ?? ""
            guard call.lowercased().contains("bcast") || call.contains("broadcast") else {
                return Local(failure: "the error does not name the broadcast call: \(error)")
            }
            return Local(note: "\(error)")
        }
    }

    // MARK: - Helpers

    @inline(__always)
    private func filled<T: SelfTestElement>(_: T.Type, count: Int, rank: Int, salt: Int) -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
        for i in 0..<count { buffer[i] = T.make(selfTestBits(i, rank, salt)) }
        return buffer
    }

    /// Compares every element with `expected(i)` (bitwise, via ==); the digest covers the buffer.
    @inline(__always)
    private func verified<T: SelfTestElement>(_ buffer: UnsafeMutableBufferPointer<T>,
                                              expected: (Int) -> T) -> Local {
        var wrong = 0, first = ""
        for i in 0..<buffer.count {
            let want = expected(i)
            if buffer[i] != want {
                if wrong == 0 { first = "element \(i) of \(buffer.count): expected \(want), got \(buffer[i])" }
                wrong += 1
            }
        }
        let digest = selfTestDigest(UnsafeRawBufferPointer(buffer))
        return wrong == 0 ? Local(digest: digest) : Local(failure: "\(first) (\(wrong) wrong elements)", digest: digest)
    }

    /// Combines the ranks' local outcomes: pass only if every rank passed; digests over all ranks.
    private func agree(_ comm: any Communicator, names: [String], locals: [Local], times: [Double]) throws
        -> [CommCheckResult] {
        let k = names.count, n = comm.size
        let flags = locals.map { Int32($0.failure == nil ? 0 : 1) }
        let digests = locals.map { $0.digest ?? 0 }
        let allFlags = try comm.allgatherv(flags, counts: Array(repeating: k, count: n))
        let allDigests = try comm.allgatherv(digests, counts: Array(repeating: k, count: n))
        var slowest = times
        try comm.allreduce(&slowest, op: .max)
        return (0..<k).map { c in
            let failed = (0..<n).filter { allFlags[$0 * k + c] != 0 }
            var combined: UInt64?
            if locals[c].digest != nil {
                var perRank = (0..<n).map { allDigests[$0 * k + c] }
                combined = perRank.withUnsafeMutableBytes { selfTestDigest(UnsafeRawBufferPointer($0)) }
            }
            return CommCheckResult(name: names[c], passed: failed.isEmpty, failedRanks: failed,
                                   localDetail: locals[c].failure, note: locals[c].note,
                                   digest: combined, seconds: slowest[c])
        }
    }
}

/// A communicator that lies: after every real allreduce it adds 1 to the result's first element.
/// Only for `run(on:corruptingRank:)`, which proves that the self-test notices wrong results.
private final class CorruptingCommunicator: Communicator {
    let base: any Communicator
    init(_ base: any Communicator) { self.base = base }
    var rank: Int { base.rank }
    var size: Int { base.size }
    var localRank: Int { base.localRank }
    var localSize: Int { base.localSize }
    var backendName: String { base.backendName }
    func barrier() throws { try base.barrier() }
    func broadcast<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try base.broadcast(buffer, root: root)
    }
    func allreduce<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        try base.allreduce(buffer, op: op)
        corrupt(buffer)
    }
    func allreduceAsync<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) -> CommRequest {
        // Completed before returning, so the corruption happens before the caller can look.
        let request = base.allreduceAsync(buffer, op: op)
        do { try request.wait() } catch { return request }
        corrupt(buffer)
        return CommRequest.completed()
    }
    func allgatherv<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                   counts: [Int]) throws {
        try base.allgatherv(send, into: receive, counts: counts)
    }
    func reduceScatter<T: CommScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                      counts: [Int], op: ReduceOp) throws {
        try base.reduceScatter(send, into: receive, counts: counts, op: op)
    }
    func makeProgressiveSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> (any ProgressiveSum)? {
        try base.makeProgressiveSum(buffer, count: count).map { CorruptingProgressiveSum(base: $0, buffer: buffer) }
    }
    func shutdown() throws { try base.shutdown() }

    private func corrupt<T: CommScalar>(_ buffer: UnsafeMutableBufferPointer<T>) {
        guard buffer.count > 0 else { return }
        let raw = UnsafeMutableRawPointer(buffer.baseAddress!)
        switch T.commDataType {
        case .float32: raw.assumingMemoryBound(to: Float.self).pointee += 1
        case .float64: raw.assumingMemoryBound(to: Double.self).pointee += 1
        case .int32: raw.assumingMemoryBound(to: Int32.self).pointee &+= 1
        case .int64: raw.assumingMemoryBound(to: Int64.self).pointee &+= 1
        case .uint8: raw.assumingMemoryBound(to: UInt8.self).pointee &+= 1
        case .uint16: raw.assumingMemoryBound(to: UInt16.self).pointee &+= 1
        case .uint64: raw.assumingMemoryBound(to: UInt64.self).pointee &+= 1
        case .bfloat16: raw.assumingMemoryBound(to: UInt16.self).pointee ^= 0x0080  // flips the exponent's lowest bit
        }
    }
}

/// A progressive sum that adds 1 to the result's first element, as `CorruptingCommunicator` does.
private final class CorruptingProgressiveSum: ProgressiveSum {
    let base: any ProgressiveSum
    let buffer: UnsafeMutablePointer<Float>
    init(base: any ProgressiveSum, buffer: UnsafeMutablePointer<Float>) { (self.base, self.buffer) = (base, buffer) }
    var count: Int { base.count }
    func begin() { base.begin() }
    func markReady(_ range: Range<Int>) { base.markReady(range) }
    func finish() throws -> ProgressiveSumWork {
        let work = try base.finish()
        if count > 0 { buffer[0] += 1 }
        return work
    }
}
