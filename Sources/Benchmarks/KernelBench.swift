import Foundation
import Kernels
import Support

// Micro-benchmark of every kernel at one model's shapes (defaults: bench-m, GPT-2 124M at T = 256).
//
// Shapes: B batch, T time, C channels, NH heads, V vocabulary, N = B·T rows; AdamW over `params` floats.

/// Times each kernel at a model's shapes and reports GB/s (memory-bound kernels) or GFLOP/s (matmuls).
public enum KernelBench {
    /// One timed kernel.
    public struct Result: Sendable {
        /// Kernel and shape, e.g. "linear fc fwd (1024x768 -> 3072)".
        public let name: String
        /// Median seconds per call.
        public let seconds: Double
        /// Fastest call, seconds (the least disturbed by other processes on a shared machine).
        public let best: Double
        /// Bytes a call must move to and from memory at minimum (0 when not meaningful).
        public let bytes: Double
        /// Floating-point operations per call that count as useful work (0 when not meaningful).
        public let flops: Double

        /// Achieved memory bandwidth, GB/s.
        public var gbPerSecond: Double { bytes / seconds / 1e9 }
        /// Achieved arithmetic rate, GFLOP/s.
        public var gflopPerSecond: Double { flops / seconds / 1e9 }

        /// "name  median  best  rate(median)  rate(best)" on one line.
        public var line: String {
            let ms = String(format: "%9.3f ms %9.3f ms", seconds * 1e3, best * 1e3)
            var rate = ""
            if flops > 0 {
                rate = String(format: "%8.1f %8.1f GFLOP/s", flops / seconds / 1e9, flops / best / 1e9)
            } else if bytes > 0 {
                rate = String(format: "%8.1f %8.1f GB/s", bytes / seconds / 1e9, bytes / best / 1e9)
            }
            return name.padding(toLength: 44, withPad: " ", startingAt: 0) + ms + "  " + rate
        }

        /// The column titles matching `line`.
        public static let header = "kernel".padding(toLength: 44, withPad: " ", startingAt: 0)
            + "   median       best        median     best"
    }

    /// The shapes to benchmark.
    public struct Shape: Sendable {
        public var B = 4, T = 256, C = 768, NH = 12, V = 50257
        /// Parameter count for the AdamW / grad-norm / zeroing kernels (GPT-2 124M by default).
        public var params = 124_439_808
        public init() {}
    }

    /// What the timings measure.
    public enum Clock: Sendable {
        /// Elapsed time (what a training step sees).
        case wall
        /// CPU time of the calling thread: with one thread (`Parallel.threads == 1`, all work on the
        /// caller) this excludes time other processes took the core away, for tuning on a busy machine.
        case threadCPU
    }

    /// The clock `now()` reads.
    nonisolated(unsafe) static var clock = Clock.wall

    /// Runs every kernel `repeats` times after one warm-up call at the current `Parallel.threads` and
    /// returns median timings. `log` receives each result line as it is measured.
    public static func run(shape: Shape = Shape(), repeats: Int = 5, clock: Clock = .wall,
                           log: (String) -> Void = { print($0) }) -> [Result] {
        precondition(clock == .wall || Parallel.threads == 1, "thread CPU time is only meaningful with 1 thread")
        self.clock = clock
        defer { self.clock = .wall }
        let B = shape.B, T = shape.T, C = shape.C, NH = shape.NH, V = shape.V, N = B * T, P = shape.params
        precondition(C % NH == 0 && repeats >= 1, "bad benchmark shape")
        var results: [Result] = []
        func time(_ name: String, bytes: Double = 0, flops: Double = 0, _ body: () -> Void) {
            body()
            var ts: [Double] = []
            for _ in 0..<repeats {
                let t0 = now()
                body()
                ts.append(now() - t0)
            }
            ts.sort()
            let r = Result(name: name, seconds: ts[ts.count / 2], best: ts[0], bytes: bytes, flops: flops)
            results.append(r)
            log(r.line)
        }
        let f = 4.0   // bytes per float
        log("kernels at B=\(B) T=\(T) C=\(C) NH=\(NH) V=\(V), \(Parallel.threads) thread(s), GEMM \(GEMM.strategy)")
        log(Result.header)

        // Activations.
        let x = Pool(N * 4 * C), y = Pool(N * 4 * C), g = Pool(N * 4 * C), dx = Pool(N * 4 * C)
        let wte = Pool(V * C), dwte = Pool(V * C), wpe = Pool(1024 * C), dwpe = Pool(1024 * C)
        let w = Pool(4 * C * C), dw = Pool(4 * C * C), bias = Pool(4 * C), dbias = Pool(4 * C)
        let mean = Pool(N), rstd = Pool(N)
        let tokens = UnsafeMutablePointer<Int32>.allocate(capacity: N)
        defer { tokens.deallocate() }
        for i in 0..<N { tokens[i] = Int32((i &* 7919) % V) }

        time("embedding fwd", bytes: 3 * f * Double(N * C)) {
            Embedding.forward(out: y.p, tokens: tokens, wte: wte.p, wpe: wpe.p, B: B, T: T, C: C)
        }
        time("embedding bwd", bytes: 5 * f * Double(N * C)) {
            Embedding.backward(dwte: dwte.p, dwpe: dwpe.p, dout: g.p, tokens: tokens, B: B, T: T, C: C)
        }
        time("layernorm fwd", bytes: 2 * f * Double(N * C)) {
            LayerNorm.forward(out: y.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: w.p, bias: bias.p, N: N, C: C)
        }
        time("layernorm bwd", bytes: 5 * f * Double(N * C)) {
            LayerNorm.backward(dinp: dx.p, dweight: dw.p, dbias: dbias.p, dout: g.p, inp: x.p, weight: w.p,
                               mean: mean.p, rstd: rstd.p, N: N, C: C)
        }
        for (label, ic, oc) in [("qkv", C, 3 * C), ("attn proj", C, C), ("fc", C, 4 * C), ("fc proj", 4 * C, C)] {
            let fl = 2.0 * Double(N * ic * oc)
            time("linear \(label) fwd (\(N)x\(ic) -> \(oc))", flops: fl) {
                Linear.forward(out: y.p, inp: x.p, weight: w.p, bias: bias.p, N: N, IC: ic, OC: oc)
            }
            time("linear \(label) bwd", flops: 2 * fl) {
                Linear.backward(dinp: dx.p, dweight: dw.p, dbias: dbias.p, dout: g.p, inp: x.p, weight: w.p,
                                N: N, IC: ic, OC: oc)
            }
        }
        let logits = Pool(N * V), losses = Pool(N)
        let headFlops = 2.0 * Double(N * C * V)
        time("lm head fwd (\(N)x\(C) -> \(V))", flops: headFlops) {
            Linear.forwardTransposed(out: logits.p, inp: x.p, weight: wte.p, N: N, IC: C, OC: V)
        }
        time("lm head bwd", flops: 2 * headFlops) {
            Linear.backwardTransposed(dinp: dx.p, dweight: dwte.p, dout: logits.p, inp: x.p, weight: wte.p,
                                      N: N, IC: C, OC: V)
        }
        let targets = UnsafeMutablePointer<Int32>.allocate(capacity: N)
        defer { targets.deallocate() }
        for i in 0..<N { targets[i] = tokens[(i + 1) % N] }
        let probs = Pool(N * V)
        fillLogits(logits.p, N * V)
        time("cross-entropy fwd", bytes: 2 * f * Double(N * V)) {
            _ = CrossEntropy.forward(losses: losses.p, probs: probs.p, logits: logits.p, targets: targets, N: N, V: V)
        }
        time("cross-entropy bwd", bytes: 2 * f * Double(N * V)) {
            CrossEntropy.backward(dlogits: logits.p, probs: probs.p, targets: targets, scale: 1 / Float(N), N: N, V: V)
        }
        logits.free(); probs.free()

        let att = Pool(B * NH * T * T), scratch = Pool(B * NH * T * T)
        let qkv = Pool(N * 3 * C), dqkv = Pool(N * 3 * C)
        fillLogits(qkv.p, N * 3 * C)
        let attFlops = 4.0 * Double(B * NH * T * T * (C / NH))   // QKᵀ and PV, full T×T as PyTorch computes
        time("attention fwd causal (\(B)x\(NH)x\(T)x\(C / NH))", flops: attFlops) {
            Attention.forward(out: y.p, att: att.p, qkv: qkv.p, B: B, T: T, C: C, NH: NH, causal: true)
        }
        time("attention bwd causal", flops: 2 * attFlops) {
            Attention.backward(dqkv: dqkv.p, scratch: scratch.p, dout: g.p, qkv: qkv.p, att: att.p,
                               B: B, T: T, C: C, NH: NH, causal: true)
        }
        if let bf16 = try? BF16Matmul(attention: true), bf16.attention {   // the same with bf16 products (mixed precision)
            let hs = C / NH
            time("attention fwd causal bf16 \(bf16.path.rawValue)", flops: attFlops) {
                Attention.forward(out: y.p, att: att.p, q: qkv.p, ldq: 3 * C, k: qkv.p + C, ldk: 3 * C, v: qkv.p + 2 * C, ldv: 3 * C,
                                  B: B, Tq: T, Tk: T, NH: NH, hs: hs, causal: true, precision: bf16)
            }
            time("attention bwd causal bf16", flops: 2 * attFlops) {
                Attention.backward(dq: dqkv.p, dk: dqkv.p + C, dv: dqkv.p + 2 * C, scratch: scratch.p, dout: g.p, q: qkv.p, ldq: 3 * C,
                                   k: qkv.p + C, ldk: 3 * C, v: qkv.p + 2 * C, ldv: 3 * C, att: att.p, B: B, Tq: T, Tk: T, NH: NH, hs: hs,
                                   causal: true, precision: bf16)
            }
        }
        att.free(); scratch.free(); qkv.free(); dqkv.free()

        let n4 = N * 4 * C
        time("gelu fwd (\(n4))", bytes: 2 * f * Double(n4)) { GELU.forward(out: y.p, inp: x.p, count: n4) }
        time("gelu bwd", bytes: 3 * f * Double(n4)) { GELU.backward(dinp: dx.p, inp: x.p, dout: g.p, count: n4) }
        time("residual fwd (\(N * C))", bytes: 3 * f * Double(N * C)) {
            Residual.forward(out: y.p, a: x.p, b: g.p, count: N * C)
        }
        time("residual bwd", bytes: 5 * f * Double(N * C)) {
            Residual.backward(da: dx.p, db: y.p, dout: g.p, count: N * C)
        }
        let mask = UnsafeMutablePointer<UInt8>.allocate(capacity: n4)
        defer { mask.deallocate() }
        time("dropout fwd p=0.1 (\(n4))", bytes: 9 * Double(n4)) {
            Dropout.forward(out: y.p, mask: mask, inp: x.p, count: n4, p: 0.1, seed: 1)
        }
        time("dropout bwd", bytes: 13 * Double(n4)) {
            Dropout.backward(dinp: dx.p, dout: g.p, mask: mask, count: n4, p: 0.1)
        }
        x.free(); y.free(); g.free(); dx.free(); wte.free(); dwte.free()

        let params = Pool(P), grads = Pool(P), m = Pool(P, zero: true), v = Pool(P, zero: true)
        time("adamw (\(P) params)", bytes: 7 * f * Double(P)) {
            AdamW.step(params: params.p, grads: grads.p, m: m.p, v: v.p, count: P, lr: 1e-4, beta1: 0.9,
                       beta2: 0.95, eps: 1e-8, weightDecay: 0.1, t: 10)
        }
        time("sum of squares (grad norm)", bytes: f * Double(P)) { _ = VectorMath.sumOfSquares(grads.p, count: P) }
        time("scale (clip)", bytes: 2 * f * Double(P)) { VectorMath.scale(grads.p, count: P, by: 1) }
        time("zero grads", bytes: f * Double(P)) { VectorMath.zero(grads.p, count: P) }
        return results
    }

    /// Compares the two GEMM strategies on the transformer block's matmuls (forward and backward), and
    /// how fast an element-wise kernel (GELU) runs right after a matmul under each: OpenBLAS's idle
    /// workers busy-wait for ~0.1 s after a multi-threaded call. Strategies are interleaved call by call
    /// so both see the same machine load; compare the best-of columns on a shared machine.
    public static func runGEMMStrategies(shape: Shape = Shape(), repeats: Int = 9, log: (String) -> Void = { print($0) }) -> [Result] {
        let N = shape.B * shape.T, C = shape.C
        let saved = GEMM.strategy
        defer { GEMM.strategy = saved }
        let x = Pool(N * 4 * C), y = Pool(N * 4 * C), w = Pool(4 * C * C), g = Pool(N * 4 * C)
        let dx = Pool(N * 4 * C), dw = Pool(4 * C * C)
        let strategies = [GEMM.Strategy.splitAcrossThreads, .openBLASThreads]
        log("GEMM strategies at N=\(N) C=\(C), \(Parallel.threads) thread(s)")
        log(Result.header)
        var results: [Result] = []
        func report(_ name: String, _ ts: [Double], bytes: Double = 0, flops: Double = 0) {
            let sorted = ts.dropFirst().sorted()   // the first call is a warm-up
            let r = Result(name: name, seconds: sorted[sorted.count / 2], best: sorted[0], bytes: bytes, flops: flops)
            results.append(r)
            log(r.line)
        }
        for (label, ic, oc) in [("qkv", C, 3 * C), ("attn proj", C, C), ("fc", C, 4 * C), ("fc proj", 4 * C, C)] {
            let fl = 2.0 * Double(N * ic * oc)
            var tf = [[Double]](repeating: [], count: 2), tb = tf
            for _ in 0...repeats {
                for (s, strategy) in strategies.enumerated() {
                    GEMM.strategy = strategy
                    let t0 = now()
                    Linear.forward(out: y.p, inp: x.p, weight: w.p, bias: nil, N: N, IC: ic, OC: oc)
                    let t1 = now()
                    Linear.backward(dinp: dx.p, dweight: dw.p, dbias: nil, dout: g.p, inp: x.p, weight: w.p,
                                    N: N, IC: ic, OC: oc)
                    tf[s].append(t1 - t0)
                    tb[s].append(now() - t1)
                }
            }
            for (s, strategy) in strategies.enumerated() {
                report("\(strategy) \(label) fwd", tf[s], flops: fl)
                report("\(strategy) \(label) bwd", tb[s], flops: 2 * fl)
            }
        }
        // One transformer block's forward (LN, qkv, attention, proj, residual, LN, fc, GELU, proj,
        // residual): matmuls interleaved with our own parallel kernels, as in a training step.
        let T = shape.T, B = shape.B, NH = shape.NH
        let qkv = Pool(N * 3 * C), att = Pool(B * NH * T * T), mean = Pool(N), rstd = Pool(N)
        var tblock = [[Double]](repeating: [], count: 2)
        for _ in 0...repeats {
            for (s, strategy) in strategies.enumerated() {
                GEMM.strategy = strategy
                let t0 = now()
                LayerNorm.forward(out: y.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: w.p, bias: w.p, N: N, C: C)
                Linear.forward(out: qkv.p, inp: y.p, weight: w.p, bias: w.p, N: N, IC: C, OC: 3 * C)
                Attention.forward(out: y.p, att: att.p, qkv: qkv.p, B: B, T: T, C: C, NH: NH, causal: true)
                Linear.forward(out: dx.p, inp: y.p, weight: w.p, bias: w.p, N: N, IC: C, OC: C)
                Residual.forward(out: dx.p, a: dx.p, b: x.p, count: N * C)
                LayerNorm.forward(out: y.p, mean: mean.p, rstd: rstd.p, inp: dx.p, weight: w.p, bias: w.p, N: N, C: C)
                Linear.forward(out: g.p, inp: y.p, weight: w.p, bias: w.p, N: N, IC: C, OC: 4 * C)
                GELU.forward(out: g.p, inp: g.p, count: N * 4 * C)
                Linear.forward(out: y.p, inp: g.p, weight: w.p, bias: w.p, N: N, IC: 4 * C, OC: C)
                Residual.forward(out: y.p, a: y.p, b: dx.p, count: N * C)
                tblock[s].append(now() - t0)
            }
        }
        let blockFlops = 2.0 * Double(N) * Double(12 * C * C) + 4.0 * Double(B * NH * T * T * (C / NH))
        for (s, strategy) in strategies.enumerated() {
            report("\(strategy) block forward", tblock[s], flops: blockFlops)
        }
        var tg = [[Double]](repeating: [], count: 2)
        for _ in 0...repeats {
            for (s, strategy) in strategies.enumerated() {
                GEMM.strategy = strategy
                Linear.forward(out: y.p, inp: x.p, weight: w.p, bias: nil, N: N, IC: C, OC: 4 * C)
                let t0 = now()
                GELU.forward(out: g.p, inp: y.p, count: N * 4 * C)
                tg[s].append(now() - t0)
            }
        }
        for (s, strategy) in strategies.enumerated() {
            report("\(strategy) gelu fwd after sgemm", tg[s], bytes: 8 * Double(N * 4 * C))
        }
        return results
    }

    /// Seconds on `clock`: monotonic wall time or the calling thread's CPU time.
    static func now() -> Double {
        var t = timespec()
        clock_gettime(clock == .wall ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Fills with small pseudo-random values in [-4, 4) (a quick LCG; content only matters for exp).
    static func fillLogits(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        var s: UInt32 = 12345
        for i in 0..<n {
            s = s &* 1_664_525 &+ 1_013_904_223
            p[i] = Float(s >> 8) * (8.0 / 16_777_216) - 4
        }
    }

    /// A benchmark buffer, filled with small values (or zeros), freed explicitly or at deinit.
    final class Pool {
        private(set) var p: UnsafeMutablePointer<Float>
        private var live = true
        init(_ n: Int, zero: Bool = false) {
            p = .allocate(capacity: n)
            if zero { p.initialize(repeating: 0, count: n) } else {
                var s: UInt32 = 777
                for i in 0..<n { s = s &* 1_664_525 &+ 1_013_904_223; p[i] = Float(s >> 9) * (0.02 / 8_388_608) - 0.01 }
            }
        }
        func free() { if live { p.deallocate(); live = false } }
        deinit { free() }
    }
}
