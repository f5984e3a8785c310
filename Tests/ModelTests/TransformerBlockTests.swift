import Kernels
import Model
import XCTest
import Support

/// A whole `TransformerBlock` with cross-attention against central finite differences of a scalar
/// loss L = Σ out ⊙ r, for every parameter, every element of both inputs and of the position bias.
final class TransformerBlockTests: XCTestCase {
    /// T5-like: pre-norm RMSNorm, causal self-attention with a position bias, cross-attention with
    /// encoder padding, gated GELU, no biases, (out, in) weights, D = NH·hs ≠ C, scale 1.
    func testT5LikeBlockMatchesFiniteDifferences() throws {
        let (C, NH, hs, I) = (8, 2, 3, 12), D = NH * hs
        let config = BlockConfig(C: C, NH: NH, hs: hs, I: I, placement: .pre, norm: .rmsNorm, eps: 1e-6, selfAttention: .causal,
                                 crossAttention: true, feedForward: .gatedGELU(.tanh), orientation: .outIn, attentionScale: 1)
        let roles: [(BlockRole, Int)] = [(.norm1Weight, C), (.qkvWeight, 3 * D * C), (.attnOutWeight, C * D),
                                         (.crossNormWeight, C), (.crossQWeight, D * C), (.crossKVWeight, 2 * D * C), (.crossOutWeight, C * D),
                                         (.norm2Weight, C), (.ffnInWeight, I * C), (.ffnLinearWeight, I * C), (.ffnOutWeight, C * I)]
        try checkBlock(config, roles, B: 2, T: 5, Tk: 4, keyPadding: nil, encoderPadding: [1, 1, 1, 1, 1, 1, 0, 0], positionBias: true)
    }

    /// The original Transformer's decoder layer: post-norm LayerNorm, self-attention with key padding,
    /// cross-attention with encoder padding, ReLU, biases, (in, out) weights, residual and attention
    /// dropout (masks fixed by the seed).
    func testOriginalTransformerLikeBlockMatchesFiniteDifferences() throws {
        let (C, NH, I) = (8, 2, 16)
        let config = BlockConfig(C: C, NH: NH, I: I, placement: .post, norm: .layerNorm, selfAttention: .padding, crossAttention: true,
                                 feedForward: .relu, orientation: .inOut, residualDropout: 0.1, attentionDropout: 0.2)
        let roles: [(BlockRole, Int)] = [(.qkvWeight, 3 * C * C), (.qkvBias, 3 * C), (.attnOutWeight, C * C), (.attnOutBias, C),
                                         (.norm1Weight, C), (.norm1Bias, C),
                                         (.crossQWeight, C * C), (.crossQBias, C), (.crossKVWeight, 2 * C * C), (.crossKVBias, 2 * C),
                                         (.crossOutWeight, C * C), (.crossOutBias, C), (.crossNormWeight, C), (.crossNormBias, C),
                                         (.ffnInWeight, C * I), (.ffnInBias, I), (.ffnOutWeight, I * C), (.ffnOutBias, C),
                                         (.norm2Weight, C), (.norm2Bias, C)]
        try checkBlock(config, roles, B: 2, T: 4, Tk: 6, keyPadding: [1, 1, 1, 1, 1, 1, 0, 0],
                       encoderPadding: [1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0], positionBias: false, dropping: true)
    }

    /// Runs one layer of `config` on random weights and inputs and compares its backward with central
    /// differences (h = 1e-3 on Float, |analytic − numeric| ≤ 2e-3 + 0.02·|numeric|) of every parameter,
    /// both inputs and the position bias; then checks that padded positions do not reach real rows.
    func checkBlock(_ config: BlockConfig, _ roles: [(BlockRole, Int)], B: Int, T: Int, Tk: Int, keyPadding: [UInt8]?,
                    encoderPadding: [UInt8]?, positionBias: Bool, dropping: Bool = false) throws {
        var pairs: [(BlockRole, Int)] = [], count = 0
        for (role, n) in roles { pairs.append((role, count)); count += n }
        let block = try TransformerBlock(config: config, table: BlockTable(pairs), layers: 1, B: B, T: T, Tk: Tk)
        let C = config.C, N = B * T
        var rng = SplitMix64(seed: 17)
        func random(_ n: Int, _ scale: Double, around center: Double = 0) throws -> FlatBuffer {
            let b = try FlatBuffer(count: n)
            for i in 0..<n { b.pointer[i] = Float(center + scale * (2 * rng.uniform() - 1)) }
            return b
        }
        let params = try random(count, 0.5)
        for (role, offset) in pairs where [.norm1Weight, .crossNormWeight, .norm2Weight].contains(role) {
            for c in 0..<C { params.pointer[offset + c] = Float(1 + 0.3 * (2 * rng.uniform() - 1)) }
        }
        let x = try random(N * C, 1), enc = try random(B * Tk * C, 1), bias = try random(config.NH * T * T, 1), r = try random(N * C, 1)
        let grads = try FlatBuffer(count: count), dx = try FlatBuffer(count: N * C), scratch = try FlatBuffer(count: N * C)
        let dEnc = try FlatBuffer(count: B * Tk * C), dBias = try FlatBuffer(count: config.NH * T * T)
        let pad = ByteBuffer(keyPadding), encPad = ByteBuffer(encoderPadding)
        withExtendedLifetime((params, x, enc, bias, r, grads, dx, scratch, dEnc, dBias, pad, encPad)) {
            let step = BlockStep(B: B, T: T, keyPadding: pad.pointer, positionBias: positionBias ? UnsafePointer(bias.pointer) : nil,
                                 dPositionBias: positionBias ? dBias.pointer : nil, encoder: UnsafePointer(enc.pointer), Tk: Tk,
                                 encoderPadding: encPad.pointer, dEncoder: dEnc.pointer, dropping: dropping, dropoutSeed: 77)
            func loss() -> Double {
                let out = block.forward(layer: 0, input: x.pointer, params: params.pointer, step: step, profile: nil)
                return (0..<(N * C)).reduce(0) { $0 + Double(out[$1]) * Double(r.pointer[$1]) }
            }
            _ = loss()
            dx.pointer.update(from: r.pointer, count: N * C)
            let result = block.backward(layer: 0, input: x.pointer, params: params.pointer, grads: grads.pointer,
                                        d: dx.pointer, e: scratch.pointer, step: step, profile: nil)
            let dInput = result.d
            let h: Float = 1e-3
            func check(_ what: String, _ values: UnsafeMutablePointer<Float>, _ analytic: UnsafePointer<Float>, _ n: Int) {
                var worst = 0.0
                for i in 0..<n {
                    let numeric = centralDifference(values + i, h: h, loss), a = Double(analytic[i])
                    XCTAssertEqual(a, numeric, accuracy: 2e-3 + 0.02 * abs(numeric), "\(what)[\(i)]")
                    worst = max(worst, abs(a))
                }
                XCTAssertGreaterThan(worst, 1e-3, "\(what): the gradient is not all zero")
            }
            for (role, offset) in pairs {
                check("\(role)", params.pointer + offset, grads.pointer + offset, roles.first { $0.0 == role }!.1)
            }
            check("input", x.pointer, dInput, N * C)
            check("encoder", enc.pointer, dEnc.pointer, B * Tk * C)
            if positionBias { check("position bias", bias.pointer, dBias.pointer, config.NH * T * T) }

            // Padding is inert: changing padded positions of either sequence leaves every real row's output
            // bit for bit (padded keys get probability 0; padded query rows only produce their own rows).
            let real = (0..<N).filter { keyPadding?[$0] ?? 1 != 0 }
            func realRows() -> [Float] {
                let out = block.forward(layer: 0, input: x.pointer, params: params.pointer, step: step, profile: nil)
                return real.flatMap { n in (0..<C).map { out[n * C + $0] } }
            }
            let before = realRows()
            for n in 0..<N where keyPadding?[n] == 0 { for c in 0..<C { x.pointer[n * C + c] += 3 } }
            for n in 0..<(B * Tk) where encoderPadding?[n] == 0 { for c in 0..<C { enc.pointer[n * C + c] -= 2 } }
            XCTAssertEqual(realRows(), before, "real rows do not see padded positions")
        }
    }
}

/// A byte buffer with a stable pointer (nil for no values), freed with the object.
final class ByteBuffer {
    let pointer: UnsafePointer<UInt8>?
    init(_ values: [UInt8]?) {
        guard let values else { pointer = nil; return }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: values.count)
        p.initialize(from: values, count: values.count)
        pointer = UnsafePointer(p)
    }
    deinit { pointer.map { UnsafeMutablePointer(mutating: $0).deallocate() } }
}
