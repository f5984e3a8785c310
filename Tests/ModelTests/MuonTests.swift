import Foundation
import Kernels
import Model
import Support
import XCTest

/// `optimizer.kind: muon` against PyTorch: `torch.optim.Muon` on the blocks' weight matrices and
/// `torch.optim.AdamW` on the rest (Fixtures/make_gpt2_muon_parity.py), from the GPT-2 parity fixture.
final class MuonTests: XCTestCase {
    override func setUp() { Parallel.setThreads(1) }

    /// Two steps, the second with another gradient and a clipping scale: every tensor's change matches
    /// PyTorch's to 1e-4 of the change (Muon's Newton–Schulz runs in fp32 here, float64 there), or to
    /// one float32 spacing of the parameter (LayerNorm weights near 1 move by 1e-3, ~8,000 spacings);
    /// the four matrix shapes cover R < C, R = C and R > C.
    func testMuonAndAdamWStepsMatchPyTorch() throws {
        let fx = try ParityFixture()
        guard let url = Bundle.module.url(forResource: "gpt2-muon-parity", withExtension: "safetensors", subdirectory: "Fixtures") else {
            return XCTFail("Fixtures/gpt2-muon-parity.safetensors missing from the test bundle")
        }
        let file = try SafeTensors(path: url.path)
        let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["settings"]!.utf8)) as! [String: Any]
        let model = try fx.makeModel()
        var settings = fx.adamw
        settings.kind = .muon
        settings.lr = Float(meta["lr"] as! Double)
        settings.weightDecay = Float(meta["weight_decay"] as! Double)
        settings.muonMomentum = Float(meta["muon_momentum"] as! Double)
        let optimizer = try Optimizer(layout: model.layout, settings: settings)
        let matrices = model.layout.tensors.filter(\.isHiddenMatrix)
        XCTAssertEqual(matrices.count, 8, "2 blocks × (c_attn, attn.c_proj, c_fc, mlp.c_proj)")
        XCTAssertEqual(Set(matrices.map { $0.shape[0] < $0.shape[1] ? "wide" : $0.shape[0] == $0.shape[1] ? "square" : "tall" }),
                       ["wide", "square", "tall"])
        var worstMatrix = 0.0
        for step in 1...2 {
            let before = model.params.toArray()
            for t in model.layout.tensors {
                try (step == 1 ? fx.file : file).read((step == 1 ? "grad." : "grad2.") + t.name, into: model.grads.pointer + t.offset, count: t.count)
            }
            optimizer.step(params: model.params, grads: model.grads, lr: settings.lr, gradScale: step == 1 ? 1 : Float(meta["step2_grad_scale"] as! Double))
            for t in model.layout.tensors {
                let reference = try file.floats("muon.step\(step).\(t.name)")
                let ours = model.params.pointer + t.offset
                var worst = 0.0, change = 0.0, spacing = 0.0
                for i in 0..<t.count {
                    change = max(change, Double(abs(reference[i] - before[t.offset + i])))
                    worst = max(worst, Double(abs(ours[i] - reference[i])))
                    spacing = max(spacing, Double(reference[i].ulp))
                }
                XCTAssertGreaterThan(change, 0, "\(t.name) moves at step \(step)")
                XCTAssertLessThanOrEqual(worst, max(1e-4 * change, spacing), "\(t.name) after step \(step): error \(worst) of a change of \(change)")
                if t.isHiddenMatrix { worstMatrix = max(worstMatrix, worst / change) }
            }
        }
        XCTAssertLessThanOrEqual(worstMatrix, 1e-4, "Muon's matrices, relative to their change")
        // A Muon matrix keeps its momentum in m; its v stays zero.
        let qkv = try XCTUnwrap(matrices.first)
        XCTAssertTrue((0..<qkv.count).allSatisfy { optimizer.v.pointer[qkv.offset + $0] == 0 })
        XCTAssertTrue((0..<qkv.count).contains { optimizer.m.pointer[qkv.offset + $0] != 0 })
    }

    /// An AdamW step is what it was: with `kind: "adamw"` the matrices are not Muon's.
    func testAdamWKindLeavesTheMatricesToAdamW() throws {
        let fx = try ParityFixture()
        let model = try fx.makeModel()
        for t in model.layout.tensors { try fx.file.read("grad." + t.name, into: model.grads.pointer + t.offset, count: t.count) }
        try Optimizer(layout: model.layout, settings: fx.adamw).step(params: model.params, grads: model.grads, lr: fx.adamw.lr)
        for t in model.layout.tensors where t.isHiddenMatrix {
            let reference = try fx.file.floats("step1." + t.name)
            let worst = (0..<t.count).map { Double(abs(model.params.pointer[t.offset + $0] - reference[$0])) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-6, t.name)
        }
    }

    /// A shard that cuts a matrix (ZeRO-1) is refused in one line naming the tensor and the fix.
    func testASplitMatrixIsRefused() throws {
        let fx = try ParityFixture()
        let model = try fx.makeModel()
        var settings = fx.adamw
        settings.kind = .muon
        let matrix = try XCTUnwrap(model.layout.tensors.first(where: \.isHiddenMatrix))
        XCTAssertThrowsError(try Optimizer(layout: model.layout, settings: settings, shard: 0..<(matrix.offset + 10))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(matrix.name) && text.contains("training.zero1: false"), text)
            XCTAssertFalse(text.contains("\n"))
        }
    }
}
