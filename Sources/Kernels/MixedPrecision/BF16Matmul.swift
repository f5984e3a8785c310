import CDNNL
import Foundation
import Support

/// Matrix products with bfloat16 operands, fp32 accumulation and fp32 results (PyTorch autocast's
/// numerics), for one model: oneDNN matmul primitives where the CPU has native bf16, else the same
/// bf16-rounded operands through fp32 sgemm.
///
/// Shapes (row-major, as `GEMM.sgemm`): C (M,N) = op(A) (M,K) · op(B) (K,N) [+ C], A stored (M,K) with
/// row stride lda or (K,M) when `transA`, B (K,N) with ldb or (N,K) when `transB`.
///
/// Operands are in the path's representation (`elementSize` bytes each): bf16 bits on the native path,
/// fp32 values rounded to bf16 on the emulated one, so both paths multiply the same numbers and agree
/// up to the order of accumulation. `round(_:rows:cols:ld:slot:)` rounds an fp32 activation into one
/// of a few scratch buffers (grown to the largest size seen, then reused: nothing is allocated once
/// every shape has run); `attach(weights:count:)` keeps a rounded copy of the model's flat parameter
/// buffer, refreshed after each optimizer step (fused into AdamW, see `AdamW.step(…, rounded:)`).
/// One primitive per distinct shape is created on first use and kept. Not for concurrent use: one
/// instance per model replica.
public final class BF16Matmul {
    /// Where the products run.
    public enum Path: String, Sendable {
        /// oneDNN bf16 primitives (AVX512-BF16 or AMX).
        case native
        /// bf16-rounded fp32 operands through OpenBLAS sgemm: the same numbers at fp32 speed.
        case emulated
    }

    /// The path in use.
    public let path: Path
    /// The oneDNN implementation a bf16 matmul gets here (e.g. "brg:avx512_core_bf16"), or why none.
    public let kernel: String
    /// Bytes per operand element: 2 (native) or 4 (emulated).
    public let elementSize: Int
    /// Whether attention's four products (Q·Kᵀ, P·V and their gradients) take bf16 operands too:
    /// true unless `PRETRAIN_BF16_ATTENTION=fp32` (an A/B switch for benchmarks) or `attention: false`.
    public let attention: Bool
    /// Whether this CPU has native bf16 instructions (avx512_bf16 or amx_bf16).
    public static var cpuHasNativeBF16: Bool {
        CPUInfo.host.flags.contains("avx512_bf16") || CPUInfo.host.flags.contains("amx_bf16")
    }

    /// Whether the emulated path is asked for: by `forceEmulated` or `PRETRAIN_BF16=emulated`.
    static func emulationForced(_ forceEmulated: Bool) -> Bool {
        forceEmulated || ProcessInfo.processInfo.environment["PRETRAIN_BF16"] == "emulated"
    }

    /// The `elementSize` a matmul made now is expected to have (memory plans, before it exists): 2
    /// where the CPU has native bf16 and emulation is not forced, else 4.
    public static var plannedElementSize: Int { cpuHasNativeBF16 && !emulationForced(false) ? 2 : 4 }

    let engine: dnnl_engine_t?
    let stream: dnnl_stream_t?
    private var primitives: [Shape: UnsafeMutablePointer<pretrain_dnnl_matmul>] = [:]
    /// The batched products' primitives (`multiplyBatched`), one per shape and layout.
    var batchedPrimitives: [BatchedShape: UnsafeMutablePointer<pretrain_dnnl_matmul>] = [:]
    /// Scratch slots: 0–3 for the linear layers, 4–8 for attention (`AttentionBF16`).
    private var scratch: [(pointer: UnsafeMutableRawPointer?, bytes: Int)] = Array(repeating: (nil, 0), count: 9)
    /// The fp32 buffer whose rounded copy `weights` holds, and its element count.
    private var master: UnsafePointer<Float>?
    private var masterCount = 0
    private var weights: UnsafeMutableRawPointer?
    /// The attached elements without a rounded copy (rounded per use instead); see `attach`.
    public private(set) var unrounded: Range<Int> = 0..<0

    /// The shape and options of one cached primitive.
    struct Shape: Hashable {
        let M, N, K, lda, ldb, ldc: Int
        let transA, transB, accumulate: Bool
    }

    /// A matmul for this machine: native where the CPU has bf16 instructions and oneDNN creates a bf16
    /// primitive, emulated otherwise or when `forceEmulated` (or `PRETRAIN_BF16=emulated`) asks.
    /// Throws `OneDNNError` for any oneDNN failure other than "no bf16 implementation".
    public init(forceEmulated: Bool = false, attention: Bool = true) throws {
        let environment = ProcessInfo.processInfo.environment
        let forced = Self.emulationForced(forceEmulated)
        self.attention = attention && environment["PRETRAIN_BF16_ATTENTION"] != "fp32"
        var native = !forced && Self.cpuHasNativeBF16
        var engine: dnnl_engine_t? = nil, stream: dnnl_stream_t? = nil
        var kernel = forced ? "none (emulation forced)" : "none (the CPU has no avx512_bf16 / amx_bf16)"
        if native {
            try OneDNN.call { pretrain_dnnl_engine(&engine, &stream, $0) }
            var probe = pretrain_dnnl_matmul()
            do {
                try OneDNN.call { pretrain_dnnl_matmul_create(&probe, engine, 64, 64, 64, 0, 0, 64, 64, 64, 0, 1, $0) }
                kernel = String(cString: pretrain_dnnl_matmul_impl(&probe))
                pretrain_dnnl_matmul_destroy(&probe)
            } catch let e as OneDNNError where e.unimplemented {
                pretrain_dnnl_matmul_destroy(&probe)
                native = false
                kernel = "none (oneDNN has no bf16 matmul for this CPU)"
            }
        }
        path = native ? .native : .emulated
        elementSize = native ? 2 : 4
        self.engine = engine
        self.stream = stream
        self.kernel = kernel
    }

    deinit {
        for (_, p) in primitives { pretrain_dnnl_matmul_destroy(p); p.deallocate() }
        for (_, p) in batchedPrimitives { pretrain_dnnl_matmul_destroy(p); p.deallocate() }
        for s in scratch { s.pointer?.deallocate() }
        weights?.deallocate()
        if let stream { dnnl_stream_destroy(stream) }
        if let engine { dnnl_engine_destroy(engine) }
    }

    // MARK: operands

    /// Scratch slot `slot` (0..<9) with room for `bytes`, grown when smaller.
    func buffer(_ slot: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if scratch[slot].bytes < bytes || scratch[slot].pointer == nil {
            scratch[slot].pointer?.deallocate()
            scratch[slot] = (UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64), bytes)
        }
        return scratch[slot].pointer!
    }

    /// `src` (rows, cols) with row stride `ld`, rounded into scratch slot `slot` and packed (row stride cols).
    public func round(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int? = nil, slot: Int) -> UnsafeRawPointer {
        let dst = buffer(slot, bytes: rows * cols * elementSize)
        BF16Rounding.round(src, ld: ld ?? cols, rows: rows, cols: cols, into: dst, native: path == .native)
        return UnsafeRawPointer(dst)
    }

    /// Keeps a rounded copy of `weights` (count floats), the model's flat parameter buffer, except of
    /// the elements in `skipping` (a large table used by one product per pass, e.g. the tied token
    /// embedding: rounded in slices per use rather than kept, 2 bytes per element less); weight
    /// operands with a copy come from it. Call `refreshWeights` whenever the buffer changes other
    /// than through an AdamW step given `roundedWeights`.
    public func attach(weights: UnsafePointer<Float>, count: Int, skipping: Range<Int>? = nil) {
        self.weights?.deallocate()
        master = weights
        masterCount = count
        unrounded = skipping.map { $0.clamped(to: 0..<count) } ?? 0..<0
        self.weights = UnsafeMutableRawPointer.allocate(byteCount: max(64, (count - unrounded.count) * elementSize), alignment: 64)
        refreshWeights()
    }

    /// Where element `offset` of the attached buffer sits in the copy (not in `unrounded`).
    @inline(__always)
    private func copyIndex(_ offset: Int) -> Int { offset < unrounded.lowerBound ? offset : offset - unrounded.count }

    /// Re-rounds the attached weights that have a copy.
    public func refreshWeights() { refreshWeights(0..<masterCount) }

    /// Re-rounds the attached weights in `range` (flat offsets) that have a copy: after weights
    /// arrived from another rank (ZeRO-1's or Muon's gather).
    public func refreshWeights(_ range: Range<Int>) {
        guard let master, let weights else { return }
        func refresh(_ r: Range<Int>) {
            guard !r.isEmpty else { return }
            BF16Rounding.round(master + r.lowerBound, into: weights + copyIndex(r.lowerBound) * elementSize, count: r.count,
                               native: path == .native)
        }
        let range = range.clamped(to: 0..<masterCount)
        refresh(range.clamped(to: 0..<unrounded.lowerBound))
        refresh(range.clamped(to: unrounded.upperBound..<masterCount))
    }

    /// Where an AdamW step over flat elements starting at `offset` writes the rounded weights; nil
    /// when no weights are attached. The step's elements must all have a copy or none (`unrounded`).
    public func roundedWeights(at offset: Int) -> BF16Destination? {
        guard let weights, !unrounded.contains(offset) else { return nil }
        return BF16Destination(pointer: weights + copyIndex(offset) * elementSize, native: path == .native)
    }

    /// Whether the `count` weights at `w` have a kept rounded copy.
    public func keeps(_ w: UnsafePointer<Float>, count: Int) -> Bool {
        guard let master, weights != nil, w >= master, w + count <= master + masterCount else { return false }
        let lo = w - master
        return !(lo..<(lo + count)).overlaps(unrounded)
    }

    /// The rounded operand for the fp32 matrix at `w` (count elements): the kept copy when there is
    /// one (`keeps`), else rounded now into scratch slot `slot`.
    public func weight(_ w: UnsafePointer<Float>, count: Int, slot: Int) -> UnsafeRawPointer {
        if keeps(w, count: count), let master, let weights {
            return UnsafeRawPointer(weights + copyIndex(w - master) * elementSize)
        }
        return round(w, rows: 1, cols: count, slot: slot)
    }

    // MARK: products

    /// C (M,N) = op(A)·op(B) (beta 0) or C += op(A)·op(B) (beta 1), operands in the path's representation.
    public func multiply(transA: Bool, transB: Bool, M: Int, N: Int, K: Int,
                         A: UnsafeRawPointer, lda: Int, B: UnsafeRawPointer, ldb: Int,
                         beta: Float, C: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(M >= 0 && N >= 0 && K >= 0 && (beta == 0 || beta == 1), "bad bf16 matmul")
        if M == 0 || N == 0 { return }
        if K == 0 {
            if beta == 0 { for r in 0..<M { (C + r * ldc).update(repeating: 0, count: N) } }
            return
        }
        switch path {
        case .emulated:
            GEMM.sgemm(transA: transA, transB: transB, M: M, N: N, K: K, A: A.assumingMemoryBound(to: Float.self), lda: lda,
                       B: B.assumingMemoryBound(to: Float.self), ldb: ldb, beta: beta, C: C, ldc: ldc)
        case .native:
            let shape = Shape(M: M, N: N, K: K, lda: lda, ldb: ldb, ldc: ldc, transA: transA, transB: transB, accumulate: beta == 1)
            do {
                let primitive = try self.primitive(shape)
                try OneDNN.call { pretrain_dnnl_matmul_run(primitive, stream, Int32(Parallel.threads), A, B, C, $0) }
            } catch {
                preconditionFailure("bf16 matmul \(M)x\(N)x\(K): \(error)")
            }
        }
    }

    /// The cached primitive for `shape`, created on first use.
    private func primitive(_ shape: Shape) throws -> UnsafeMutablePointer<pretrain_dnnl_matmul> {
        if let p = primitives[shape] { return p }
        let p = try Self.makePrimitive { p, failed in
            pretrain_dnnl_matmul_create(p, engine, Int64(shape.M), Int64(shape.N), Int64(shape.K), shape.transA ? 1 : 0,
                                        shape.transB ? 1 : 0, Int64(shape.lda), Int64(shape.ldb), Int64(shape.ldc),
                                        shape.accumulate ? 1 : 0, 1, failed)
        }
        primitives[shape] = p
        return p
    }

    /// A primitive made by `create` (a shim helper) in new memory, freed again when creation fails.
    static func makePrimitive(_ create: (UnsafeMutablePointer<pretrain_dnnl_matmul>, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> dnnl_status_t)
        throws -> UnsafeMutablePointer<pretrain_dnnl_matmul> {
        let p = UnsafeMutablePointer<pretrain_dnnl_matmul>.allocate(capacity: 1)
        p.initialize(to: pretrain_dnnl_matmul())
        do {
            try OneDNN.call { create(p, $0) }
        } catch {
            pretrain_dnnl_matmul_destroy(p)
            p.deallocate()
            throw error
        }
        return p
    }

    /// One line for `pretrain env`: whether this CPU has native bf16 and the oneDNN kernel it gets.
    public static func environmentSummary() -> String {
        let flags = ["avx512_bf16", "amx_bf16"].filter(CPUInfo.host.flags.contains)
        do {
            let mm = try BF16Matmul()
            switch mm.path {
            case .native: return "native (\(flags.joined(separator: ", "))); oneDNN \(OneDNN.version) matmul kernel \(mm.kernel)"
            case .emulated: return "emulated at fp32 speed: \(mm.kernel); oneDNN \(OneDNN.version)"
            }
        } catch {
            return "unavailable: \(error)"
        }
    }

    /// The best rate of an (M,K)·(K,N) product on this path, GFLOP/s, over at least `repeats` runs and
    /// half a second after one warm-up (`BLASRuntime.bestSeconds`; the bf16 counterpart of
    /// `BLASRuntime.measurePeakGFLOPS`, same default shape).
    public func measurePeakGFLOPS(M: Int = 1024, N: Int = 3072, K: Int = 768, repeats: Int = 8) -> Double {
        let a = UnsafeMutablePointer<Float>.allocate(capacity: M * K), b = UnsafeMutablePointer<Float>.allocate(capacity: K * N)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: M * N)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(M * K) { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<(K * N) { b[i] = Float(i % 5) * 0.01 }
        let ra = round(a, rows: M, cols: K, slot: 0), rb = round(b, rows: K, cols: N, slot: 1)
        let best = BLASRuntime.bestSeconds(repeats: repeats) {
            multiply(transA: false, transB: false, M: M, N: N, K: K, A: ra, lda: K, B: rb, ldb: N, beta: 0, C: c, ldc: N)
        }
        return 2.0 * Double(M) * Double(N) * Double(K) / best / 1e9
    }

    /// How many distinct primitives exist (each shape once).
    public var primitiveCount: Int { primitives.count + batchedPrimitives.count }

    /// Bytes held in rounded-operand scratch now (grown to the largest operands seen).
    public var scratchBytes: Int { scratch.reduce(0) { $0 + $1.bytes } }
}
