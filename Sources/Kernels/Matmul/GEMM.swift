import CBLAS
import Support

/// Row-major single-precision matrix products through OpenBLAS, spread over the rank's threads.
///
/// Shapes (row-major, as in the rest of the kernels):
///   C (M,N) = alpha · op(A) · op(B) + beta · C,   op(A) (M,K), op(B) (K,N)
///   A is stored (M,K) with row stride lda, or (K,M) when `transA`; likewise B (K,N) or (N,K).
///
/// Measured with OpenBLAS 0.3.21 (pthreads build) on a 2-core AMD EPYC (Zen 3, AVX2), see KernelBench:
/// - Concurrent single-threaded calls from several of our threads (what Attention does) are correct —
///   bitwise equal to the same calls made serially (GEMMTests) — and scale: 48 (T×T×hs) QKᵀ products
///   ran at ~60 GFLOP/s on one thread and ~120 on two concurrent ones.
/// - After a multi-threaded call OpenBLAS's idle workers busy-wait (`sched_yield`) for 2^28 cycles
///   (~0.1 s) unless `OPENBLAS_THREAD_TIMEOUT` is set low at process start; that spinning competes
///   with our own threads (concurrent attention sgemms right after a 2-thread call: 4.4–6.7 ms median
///   instead of 3.6–4.1 ms with `OPENBLAS_THREAD_TIMEOUT=4`).
/// - The two `Strategy`s reach the same best-case throughput on the transformer matmuls (~180 GFLOP/s
///   on 2 threads, 2 × ~90 on one). On a loaded machine `.openBLASThreads` had clearly better medians:
///   `DispatchQueue.concurrentPerform` runs both halves on the caller when its worker cannot get a
///   core, and an element-wise kernel right after a split matmul was 2–5× slower at the median. Hence
///   the default. `KernelBench.runGEMMStrategies` re-measures both, interleaved.
public enum GEMM {
    /// How one matrix product uses several cores.
    public enum Strategy: Sendable {
        /// Our threads each run a single-threaded OpenBLAS call on a block of the output.
        case splitAcrossThreads
        /// One OpenBLAS call using OpenBLAS's own thread pool.
        case openBLASThreads
    }

    /// The strategy used by `sgemm` (and so by Linear). Set once at start-up, not concurrently.
    public nonisolated(unsafe) static var strategy: Strategy = .openBLASThreads

    /// C = alpha·op(A)·op(B) + beta·C, row-major, using all `Parallel.threads`.
    public static func sgemm(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1,
                             A: UnsafePointer<Float> /* (M,K) or (K,M) */, lda: Int,
                             B: UnsafePointer<Float> /* (K,N) or (N,K) */, ldb: Int, beta: Float,
                             C: UnsafeMutablePointer<Float> /* (M,N) */, ldc: Int) {
        precondition(M >= 0 && N >= 0 && K >= 0, "negative matrix dimension")
        if M == 0 || N == 0 { return }
        var beta = beta
        if beta == 0 {
            // OpenBLAS clears C for beta = 0 with a separate, slow pass; a parallel memset is faster.
            if ldc == N {
                VectorMath.zero(C, count: M * N)
            } else {
                Parallel.chunks(M, minChunk: 64) { rows in
                    for r in rows { (C + r * ldc).update(repeating: 0, count: N) }
                }
            }
            beta = 1
        }
        let threads = Parallel.threads
        let flops = 2 * M * N * K
        if threads == 1 || strategy == .openBLASThreads || flops < 4_000_000 {
            serial(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha, A: A, lda: lda,
                   B: B, ldb: ldb, beta: beta, C: C, ldc: ldc)
            return
        }
        // Split the larger output dimension, in multiples of 16 (the kernels' register blocking).
        let splitRows = M >= N
        let extent = splitRows ? M : N
        let blocks = min(threads, max(1, extent / 16))
        let per = ((extent + blocks - 1) / blocks + 15) / 16 * 16
        withSingleThreadedBLAS {
            Parallel.chunks(blocks) { range in
                for blk in range {
                    let lo = blk * per, hi = min(extent, lo + per)
                    if lo >= hi { continue }
                    if splitRows {
                        let a = transA ? A + lo : A + lo * lda
                        serial(transA: transA, transB: transB, M: hi - lo, N: N, K: K, alpha: alpha,
                               A: a, lda: lda, B: B, ldb: ldb, beta: beta, C: C + lo * ldc, ldc: ldc)
                    } else {
                        let b = transB ? B + lo * ldb : B + lo
                        serial(transA: transA, transB: transB, M: M, N: hi - lo, K: K, alpha: alpha,
                               A: A, lda: lda, B: b, ldb: ldb, beta: beta, C: C + lo, ldc: ldc)
                    }
                }
            }
        }
    }

    /// One plain `cblas_sgemm` call on the calling thread, with OpenBLAS's current thread setting.
    /// Inside a `Parallel.chunks` body wrap the whole parallel region in `withSingleThreadedBLAS`.
    @inline(__always)
    public static func serial(transA: Bool, transB: Bool, M: Int, N: Int, K: Int, alpha: Float = 1,
                              A: UnsafePointer<Float>, lda: Int, B: UnsafePointer<Float>, ldb: Int,
                              beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int) {
        if M == 0 || N == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
    }

    /// Runs `body` with OpenBLAS limited to one thread per call, restoring the previous setting after.
    /// OpenBLAS's thread count is process-wide: call this outside parallel regions only.
    public static func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        let saved = openblas_get_num_threads()
        if saved != 1 { openblas_set_num_threads(1) }
        defer { if saved != 1 { openblas_set_num_threads(saved) } }
        return try body()
    }
}
