import Distributed
import Foundation
import Kernels
import Model
import Support

/// ZeRO stage 1 bookkeeping: which parts of the flat buffer each rank's optimizer owns, and the two
/// collectives around the sharded update (reduce-scatter of gradients, all-gather of parameters).
///
/// The buffer is cut into chunks of about one gradient bucket; each chunk is split into one piece per
/// rank, in rank order, so rank r owns piece r of every chunk. A chunk is then exactly the buffer a
/// reduce-scatter (or an all-gather) wants — contiguous, ranks in order — and the collectives run
/// chunk by chunk, in place, with no staging copy of the whole buffer. Chunking also bounds MPI's own
/// temporaries: OpenMPI's reduce-scatter allocates the whole message again (measured: one call over
/// bench-m's 475 MiB gradient raised peak memory per rank by about as much as sharding saved), so a
/// chunk-sized call keeps them chunk-sized. Each owned piece gets its own `Optimizer`.
///
/// Gradients arrive pre-scaled by 1/ranks, so the reduce-scatter sums. With bf16 compression each
/// chunk is rounded into a chunk-sized bfloat16 buffer, reduce-scattered as bfloat16 (each pair added
/// once in `Float`, as in the allreduce) and this rank's piece widened back. Buffers are allocated
/// once; a step allocates nothing.
final class ZeroShards {
    /// The chunks, in buffer order.
    let chunks: [Range<Int>]
    /// Per chunk, every rank's piece length (the collective's counts).
    let counts: [[Int]]
    /// This rank's piece of every chunk (empty where a short last chunk leaves it nothing).
    let owned: [Range<Int>]
    private let compression: GradientCompression
    /// Receives this rank's reduced piece, and stages its parameters for the all-gather.
    private let scratch: FlatBuffer
    private let wire: UnsafeMutablePointer<BFloat16>?
    private let wirePiece: UnsafeMutablePointer<BFloat16>?

    /// Shards `count` elements over `ranks` in chunks of about `chunkElements`.
    init(count: Int, ranks: Int, rank: Int, chunkElements: Int, compression: GradientCompression) throws {
        (chunks, counts) = Self.layout(count: count, ranks: ranks, chunkElements: chunkElements)
        owned = zip(chunks, counts).map { chunk, counts in
            let start = chunk.lowerBound + counts[0..<rank].reduce(0, +)
            return start..<(start + counts[rank])
        }
        self.compression = compression
        let largestPiece = counts.map { $0.max() ?? 0 }.max() ?? 0
        scratch = try FlatBuffer(count: largestPiece)
        if compression == .bf16 {
            let largestChunk = chunks.map(\.count).max() ?? 0
            wire = try AllocationError.allocate(filling: BFloat16(bitPattern: 0), count: largestChunk)
            wirePiece = try AllocationError.allocate(filling: BFloat16(bitPattern: 0), count: largestPiece)
        } else {
            wire = nil
            wirePiece = nil
        }
    }

    deinit {
        free(wire)
        free(wirePiece)
    }

    /// Chunks of `ranks` equal pieces (multiples of 16 elements) covering `count` elements; the last
    /// chunk is split as evenly as multiples of 16 allow.
    static func layout(count: Int, ranks: Int, chunkElements: Int) -> ([Range<Int>], [[Int]]) {
        let piece = max(16, chunkElements / ranks / 16 * 16)
        var chunks: [Range<Int>] = [], counts: [[Int]] = []
        var start = 0
        while start < count {
            let length = min(piece * ranks, count - start)
            let per = length == piece * ranks ? piece : ((length + ranks - 1) / ranks + 15) / 16 * 16
            counts.append((0..<ranks).map { r in max(0, min(length, (r + 1) * per) - min(length, r * per)) })
            chunks.append(start..<(start + length))
            start += length
        }
        return (chunks, counts)
    }

    /// Elements this rank owns.
    var ownedCount: Int { owned.reduce(0) { $0 + $1.count } }

    /// Sum of squares of `grads` over this rank's pieces.
    func sumOfSquares(_ grads: FlatBuffer) -> Double {
        var sum = 0.0
        for piece in owned where !piece.isEmpty { sum += VectorMath.sumOfSquares(grads.pointer + piece.lowerBound, count: piece.count) }
        return sum
    }

    /// Sums `grads` across ranks, chunk by chunk, leaving the sums of this rank's pieces in place (the
    /// rest of the buffer keeps local values and must not be used).
    func reduceScatter(_ grads: FlatBuffer, comm: any Communicator) throws -> GradientAllreducer.Timing {
        let start = DispatchTime.now().uptimeNanoseconds
        var timing = GradientAllreducer.Timing()
        for (index, chunk) in chunks.enumerated() {
            let mine = owned[index]
            let callStart: UInt64
            if let wire, let wirePiece {
                BFloat16.convert(grads.pointer + chunk.lowerBound, to: wire, count: chunk.count)
                callStart = DispatchTime.now().uptimeNanoseconds
                try comm.reduceScatter(UnsafeBufferPointer(start: wire, count: chunk.count),
                                       into: UnsafeMutableBufferPointer(start: wirePiece, count: mine.count),
                                       counts: counts[index], op: .sum)
                timing.communicationSeconds += Double(DispatchTime.now().uptimeNanoseconds - callStart) / 1e9
                BFloat16.widen(wirePiece, to: grads.pointer + mine.lowerBound, count: mine.count)
            } else {
                callStart = DispatchTime.now().uptimeNanoseconds
                try comm.reduceScatter(UnsafeBufferPointer(grads[chunk]), into: scratch[0..<mine.count], counts: counts[index], op: .sum)
                timing.communicationSeconds += Double(DispatchTime.now().uptimeNanoseconds - callStart) / 1e9
                (grads.pointer + mine.lowerBound).update(from: scratch.pointer, count: mine.count)
            }
        }
        timing.buckets = chunks.count
        timing.bytes = (chunks.last?.upperBound ?? 0) * compression.bytesPerElement
        timing.exposedSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return timing
    }

    /// Gives every rank every rank's updated pieces of `params`, chunk by chunk.
    func allgather(_ params: FlatBuffer, comm: any Communicator) throws {
        for (index, chunk) in chunks.enumerated() {
            let mine = owned[index]
            scratch.pointer.update(from: params.pointer + mine.lowerBound, count: mine.count)
            try comm.allgatherv(UnsafeBufferPointer(scratch[0..<mine.count]), into: params[chunk], counts: counts[index])
        }
    }
}
