import CBLAS
import Foundation
import Support

// Muon's update of one weight matrix (PyTorch `torch.optim.Muon`, `adjust_lr_fn="match_rms_adamw"`,
// Nesterov, 5 Newton–Schulz steps; the orthogonalisation in fp32 where PyTorch's runs in bf16).
//
// Shapes: param, grad, momentum (R, C) row-major, flat; scratch (`scratchCount(rows:cols:)`).
//
// With g' = g·gradScale, μ = momentum, k = min(R, C):
//   B ← B + (1 − μ)·(g' − B)                  (= μ·B + (1 − μ)·g', PyTorch's lerp form)
//   U ← g' + μ·(B − g')                        (Nesterov: lerp(g', B, μ))
//   X ← U / max(‖U‖_F, 1e-7), as (k, max(R, C)): Uᵀ when R > C
//   5 times:  A ← X·Xᵀ (k, k);  S ← b·A + c·A·A;  X ← a·X + S·X        (a, b, c) = (3.4445, −4.7750, 2.0315)
//   p ← p·(1 − lr·wd) − lr·0.2·√max(R, C) · X   (RMS matched to AdamW's, so AdamW's lr and wd carry over)

/// One Muon update: momentum, Newton–Schulz orthogonalisation of the Nesterov direction, decoupled
/// weight decay and a step scaled to AdamW's update RMS.
public enum Muon {
    /// The quintic Newton–Schulz coefficients (Keller Jordan's, PyTorch's defaults).
    public static let coefficients: (a: Float, b: Float, c: Float) = (3.4445, -4.7750, 2.0315)
    /// Newton–Schulz iterations per update.
    public static let iterations = 5
    /// The floor under the Frobenius norm the direction is divided by.
    public static let eps: Float = 1e-7

    /// Scratch floats one update of an R×C matrix needs: two R·C matrices and two k×k (k = min(R, C)).
    public static func scratchCount(rows: Int, cols: Int) -> Int {
        let k = min(rows, cols)
        return 2 * rows * cols + 2 * k * k
    }

    /// The learning rate an R×C matrix's orthogonalised update is multiplied by: 0.2·√max(R, C)·lr.
    public static func adjustedLR(_ lr: Float, rows: Int, cols: Int) -> Float {
        Float(0.2 * Double(max(rows, cols)).squareRoot() * Double(lr))
    }

    /// Updates `param` and `momentum` in place. With `rounded`, also writes each new parameter rounded
    /// to bf16 there (mixed precision's weight copy). With `apply` false only the momentum moves: the
    /// rank whose share the matrix is not keeps the same momentum and receives the new weights.
    public static func step(param: UnsafeMutablePointer<Float> /* (R, C) */,
                            grad: UnsafePointer<Float> /* (R, C) */,
                            momentum: UnsafeMutablePointer<Float> /* (R, C) */,
                            rows R: Int, cols C: Int, lr: Float, mu: Float, weightDecay: Float, gradScale: Float = 1,
                            scratch: UnsafeMutablePointer<Float> /* scratchCount(rows: R, cols: C) */,
                            rounded: BF16Destination? = nil, apply: Bool = true) {
        precondition(R > 0 && C > 0, "Muon needs a non-empty matrix")
        let n = R * C, k = min(R, C)
        var x = scratch, next = scratch + n
        let gram = scratch + 2 * n, poly = gram + k * k

        // Momentum and the Nesterov direction, into x (only the momentum when the step is another rank's).
        let oneMinusMu = SIMD16<Float>(repeating: 1 - mu), muV = SIMD16<Float>(repeating: mu)
        guard apply else {
            elementwise(n) { i, count in
                let g = load(grad, i, count) * gradScale
                let b = load(momentum, i, count)
                store(momentum, i, count, b.addingProduct(g - b, oneMinusMu))
            }
            return
        }
        elementwise(n) { i, count in
            let g = load(grad, i, count) * gradScale
            let b = load(momentum, i, count)
            let b1 = b.addingProduct(g - b, oneMinusMu)
            store(momentum, i, count, b1)
            store(x, i, count, g.addingProduct(b1 - g, muV))
        }
        let norm = Float(VectorMath.sumOfSquares(x, count: n).squareRoot())
        VectorMath.scale(x, count: n, by: 1 / max(norm, eps))

        // Newton–Schulz on X (k, max(R, C)); for R > C the stored (R, C) matrix is Xᵀ and the products
        // are written for it: A = XᵀX, and Xᵀ ← a·Xᵀ + Xᵀ·Sᵀ.
        let (a, b, c) = coefficients
        for _ in 0..<iterations {
            // A = X·Xᵀ and S = b·A + c·A·A (= c·A·Aᵀ, A symmetric) with syrk, half a product each.
            cblas_ssyrk(CblasRowMajor, CblasUpper, R <= C ? CblasNoTrans : CblasTrans, Int32(k), Int32(max(R, C)),
                        1, x, Int32(C), 0, gram, Int32(k))
            mirrorUpper(gram, k)
            poly.update(from: gram, count: k * k)
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(k), Int32(k), c, gram, Int32(k), b, poly, Int32(k))
            mirrorUpper(poly, k)
            next.update(from: x, count: n)
            if R <= C {
                GEMM.sgemm(transA: false, transB: false, M: R, N: C, K: R, A: poly, lda: R, B: x, ldb: C, beta: a, C: next, ldc: C)
            } else {
                GEMM.sgemm(transA: false, transB: true, M: R, N: C, K: C, A: x, lda: C, B: poly, ldb: C, beta: a, C: next, ldc: C)
            }
            swap(&x, &next)
        }

        // Decoupled weight decay and the scaled step.
        let decay = 1 - lr * weightDecay, step = SIMD16<Float>(repeating: -adjustedLR(lr, rows: R, cols: C))
        let update = x
        elementwise(n) { i, count in
            let p1 = (load(param, i, count) * decay).addingProduct(load(update, i, count), step)
            store(param, i, count, p1)
            if count == 16 { rounded?.store16(i, p1) } else { rounded?.storePartial16(i, count, p1) }
        }
    }

    /// Copies the upper triangle of the k×k row-major matrix `a` onto its lower triangle.
    private static func mirrorUpper(_ a: UnsafeMutablePointer<Float>, _ k: Int) {
        for i in 1..<max(k, 1) {
            for j in 0..<i { a[i * k + j] = a[j * k + i] }
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int, _ count: Int) -> SIMD16<Float> {
        count == 16 ? p.load16(i) : p.loadPartial16(i, count)
    }

    @inline(__always)
    private static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ count: Int) -> SIMD16<Float> {
        load(UnsafePointer(p), i, count)
    }

    @inline(__always)
    private static func store(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ count: Int, _ v: SIMD16<Float>) {
        if count == 16 { p.store16(i, v) } else { p.storePartial16(i, count, v) }
    }

    /// Calls `body(i, count)` for runs of up to 16 elements covering 0..<n, in parallel chunks.
    @inline(__always)
    private static func elementwise(_ n: Int, _ body: (Int, Int) -> Void) {
        Parallel.chunks((n + 15) / 16, minChunk: 4096) { range in
            var i = range.lowerBound * 16
            let hi = min(n, range.upperBound * 16)
            while i < hi {
                body(i, min(16, hi - i))
                i += 16
            }
        }
    }
}
