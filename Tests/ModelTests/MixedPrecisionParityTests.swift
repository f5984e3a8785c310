import Foundation
import Kernels
import Model
import Support
import XCTest

/// `mixed_precision: bf16` against PyTorch's CPU autocast (Fixtures/make_gpt2_autocast_parity.py: HF
/// GPT2LMHeadModel under torch.autocast("cpu", torch.bfloat16) on gpt2-parity's weights and batch).
///
/// The tolerance, derived: bf16 keeps 8 significant bits, unit roundoff u = 2⁻⁹. Autocast rounds
/// every linear's operands and its output to bf16 (and runs attention's matmuls in bf16); its own
/// max-norm relative error against float64, e_ac, is in the fixture (2u–4u here). We round the
/// operands of the same products (every linear's, and attention's Q·Kᵀ and P·V with their
/// gradients) but none of their outputs, a subset of autocast's roundings, so our error e_ours, measured against our fp32
/// model (which matches float64 to 1e-5, GPTTests), must be at most e_ac + u; and since both are
/// bf16 computations of the same thing, |ours − autocast| ≤ e_ours + e_ac ≤ 2·e_ac + u. Finally
/// e_ours ≥ u/8 proves the products really ran in bf16 (fp32 alone stays near 1e-6).
final class MixedPrecisionParityTests: XCTestCase {
    let u = 1.0 / 512

    func testLogitsLossAndGradientsMatchAutocast() throws {
        guard let url = Bundle.module.url(forResource: "gpt2-autocast-parity", withExtension: "safetensors", subdirectory: "Fixtures") else {
            return XCTFail("Fixtures/gpt2-autocast-parity.safetensors missing from the test bundle")
        }
        let autocast = try SafeTensors(path: url.path)
        let errors = try JSONSerialization.jsonObject(with: Data(autocast.metadata["errors"]!.utf8)) as! [String: Double]
        let fx = try ParityFixture()
        let fp32 = try run(fx, nil)
        for bf16 in [try BF16Matmul(), try BF16Matmul(forceEmulated: true)] {
            let ours = try run(fx, bf16)
            var outputs: [(String, [Float], [Float])] = [("logits", ours.logits, fp32.logits), ("loss", [ours.loss], [fp32.loss])]
            for name in errors.keys where name.hasPrefix("grad.") {
                outputs.append((name, ours.grads[String(name.dropFirst(5))]!, fp32.grads[String(name.dropFirst(5))]!))
            }
            for (name, mine, exact) in outputs {
                let reference = try autocast.floats(name), eAC = errors[name]!
                let eOurs = relative(mine, exact), gap = relative(mine, reference)
                let what = "\(bf16.path) \(name): ours vs fp32 \(eOurs), vs autocast \(gap), autocast vs float64 \(eAC)"
                XCTAssertLessThanOrEqual(eOurs, eAC + u, what)
                XCTAssertLessThanOrEqual(gap, 2 * eAC + u, what)
                if name != "loss" { XCTAssertGreaterThanOrEqual(eOurs, u / 8, what + " (bf16 in use)") }
            }
        }
    }

    /// Logits, loss and gradients (by tensor name) of the fixture's batch, in fp32 or with `bf16`.
    func run(_ fx: ParityFixture, _ bf16: BF16Matmul?) throws -> (logits: [Float], loss: Float, grads: [String: [Float]]) {
        let model = try fx.makeModel()
        if let bf16 {
            bf16.attach(weights: model.params.pointer, count: model.layout.count)
            model.bf16 = bf16
        }
        let N = fx.B * fx.T, V = fx.config.vocabSize
        try model.forward(tokens: fx.inputs, targets: nil, B: fx.B, T: fx.T)
        let logits = Array(UnsafeBufferPointer(start: model.logits, count: N * V))
        let loss = try model.forward(tokens: fx.inputs, targets: fx.targets, B: fx.B, T: fx.T)
        model.zeroGrad()
        model.backward()
        var grads: [String: [Float]] = [:]
        for t in model.layout.tensors { grads[t.name] = Array(UnsafeBufferPointer(start: model.grads.pointer + t.offset, count: t.count)) }
        return (logits, loss, grads)
    }

    /// max |a − b| / max |b|.
    func relative(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var diff = 0.0, scale = 0.0
        for i in 0..<a.count {
            diff = max(diff, Double(abs(a[i] - b[i])))
            scale = max(scale, Double(abs(b[i])))
        }
        return diff / scale
    }
}
