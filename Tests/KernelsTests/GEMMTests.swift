import Kernels
import XCTest
import Support

final class GEMMTests: KernelTestCase {
    /// Concurrent single-threaded OpenBLAS calls from our threads (as Attention makes them) give bitwise
    /// the results of the same calls made one after another.
    func testConcurrentSingleThreadedCallsMatchSerial() {
        var rng = TestRNG(seed: 50)
        let M = 96, N = 80, K = 64, jobs = 16
        let a = Buf(doubles: rng.floatExact(jobs * M * K)), b = Buf(doubles: rng.floatExact(jobs * K * N))
        let serial = Buf<Float>(repeating: 0, count: jobs * M * N)
        let concurrent = Buf<Float>(repeating: 0, count: jobs * M * N)
        GEMM.withSingleThreadedBLAS {
            for j in 0..<jobs {
                GEMM.serial(transA: false, transB: true, M: M, N: N, K: K, A: a.c + j * M * K, lda: K,
                            B: b.c + j * K * N, ldb: K, beta: 0, C: serial.p + j * M * N, ldc: N)
            }
        }
        withThreadCounts([2]) { _ in
            for _ in 0..<5 {
                GEMM.withSingleThreadedBLAS {
                    Parallel.chunks(jobs) { range in
                        for j in range {
                            GEMM.serial(transA: false, transB: true, M: M, N: N, K: K, A: a.c + j * M * K, lda: K,
                                        B: b.c + j * K * N, ldb: K, beta: 0, C: concurrent.p + j * M * N, ldc: N)
                        }
                    }
                }
                XCTAssertEqual(concurrent.array, serial.array)
            }
        }
    }

    /// withSingleThreadedBLAS restores OpenBLAS's thread count.
    func testSingleThreadedScopeRestoresThreads() {
        withThreadCounts([2]) { _ in
            XCTAssertEqual(BLASRuntime.threads, 2)
            GEMM.withSingleThreadedBLAS { XCTAssertEqual(BLASRuntime.threads, 1) }
            XCTAssertEqual(BLASRuntime.threads, 2)
        }
    }
}
