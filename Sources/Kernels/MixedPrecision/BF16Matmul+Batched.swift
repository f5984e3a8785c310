import CDNNL
import Support

extension BF16Matmul {
    /// The strides, in elements, of a matrix per (batch, head) pair: C[b,h][i,j] sits at
    /// b·batch + h·head + i·row + j·col. A transposed operand is a row/col stride swap.
    struct Layout: Hashable {
        var batch, head, row, col: Int
    }

    /// The shape, layouts and options of one cached batched primitive.
    struct BatchedShape: Hashable {
        let B, H, M, N, K: Int
        let a, b, c: Layout
        let alpha: Float
        let accumulate: Bool
    }

    /// For every (b,h) of B×H pairs: C[b,h] (M,N) = alpha·A[b,h] (M,K)·B[b,h] (K,N) (beta 0) or
    /// += (beta 1). A and B in the path's representation, C fp32; each operand has unit stride along
    /// one of its two matrix dimensions. Native: one oneDNN primitive per shape and layout (created on
    /// first use, then run on new pointers); emulated: one sgemm per pair, pairs spread over the threads.
    func multiplyBatched(B: Int, H: Int, M: Int, N: Int, K: Int, alpha: Float,
                         A: UnsafeRawPointer, _ la: Layout, B b: UnsafeRawPointer, _ lb: Layout,
                         beta: Float, C: UnsafeMutablePointer<Float>, _ lc: Layout) {
        precondition(B >= 0 && H >= 0 && M >= 0 && N >= 0 && K > 0 && (beta == 0 || beta == 1), "bad batched bf16 matmul")
        precondition((la.col == 1 || la.row == 1) && (lb.col == 1 || lb.row == 1) && lc.col == 1, "bad batched bf16 layout")
        if B == 0 || H == 0 || M == 0 || N == 0 { return }
        switch path {
        case .emulated:
            let fa = A.assumingMemoryBound(to: Float.self), fb = b.assumingMemoryBound(to: Float.self)
            let transA = la.col != 1, lda = transA ? la.col : la.row, transB = lb.col != 1, ldb = transB ? lb.col : lb.row
            GEMM.withSingleThreadedBLAS {
                Parallel.chunks(B * H) { pairs in
                    for pair in pairs {
                        let bi = pair / H, h = pair % H
                        GEMM.serial(transA: transA, transB: transB, M: M, N: N, K: K, alpha: alpha,
                                    A: fa + bi * la.batch + h * la.head, lda: lda, B: fb + bi * lb.batch + h * lb.head, ldb: ldb,
                                    beta: beta, C: C + bi * lc.batch + h * lc.head, ldc: lc.row)
                    }
                }
            }
        case .native:
            let shape = BatchedShape(B: B, H: H, M: M, N: N, K: K, a: la, b: lb, c: lc, alpha: alpha, accumulate: beta == 1)
            do {
                let primitive = try batchedPrimitive(shape)
                try OneDNN.call { pretrain_dnnl_matmul_run(primitive, stream, Int32(Parallel.threads), A, b, C, $0) }
            } catch {
                preconditionFailure("batched bf16 matmul \(B)x\(H)x\(M)x\(N)x\(K): \(error)")
            }
        }
    }

    /// The cached batched primitive for `shape`, created on first use.
    private func batchedPrimitive(_ shape: BatchedShape) throws -> UnsafeMutablePointer<pretrain_dnnl_matmul> {
        if let p = batchedPrimitives[shape] { return p }
        let s = shape
        let dims = [[s.B, s.H, s.M, s.K], [s.B, s.H, s.K, s.N], [s.B, s.H, s.M, s.N]].map { $0.map(Int64.init) }
        let strides = [s.a, s.b, s.c].map { [$0.batch, $0.head, $0.row, $0.col].map(Int64.init) }
        let p = try Self.makePrimitive { p, failed in
            pretrain_dnnl_matmul_create_strided(p, engine, 4, dims[0], strides[0], dims[1], strides[1], dims[2], strides[2],
                                                s.alpha, s.accumulate ? 1 : 0, 1, failed)
        }
        batchedPrimitives[shape] = p
        return p
    }
}
