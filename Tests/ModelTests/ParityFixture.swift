import Foundation
import Model
import Support
import XCTest

/// The Hugging Face GPT-2 reference in Fixtures/gpt2-parity.safetensors, loaded into a model.
struct ParityFixture {
    let file: SafeTensors
    let config: GPTConfig
    let B: Int, T: Int
    let inputs: [Int32], targets: [Int32]
    let adamw: Optimizer.Settings

    init() throws {
        guard let url = Bundle.module.url(forResource: "gpt2-parity", withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw ModelError("Fixtures/gpt2-parity.safetensors missing from the test bundle")
        }
        file = try SafeTensors(path: url.path)
        let meta = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
        var c = GPTConfig(vocabSize: meta["vocab_size"] as! Int, maxSeqLen: meta["n_positions"] as! Int,
                          nLayer: meta["n_layer"] as! Int, nHead: meta["n_head"] as! Int, dModel: meta["n_embd"] as! Int)
        c.layerNormEps = Float(meta["layer_norm_epsilon"] as! Double)
        config = c
        B = meta["batch"] as! Int
        T = meta["seq"] as! Int
        inputs = try file.int32s("input_ids")
        targets = try file.int32s("targets")
        let opt = try JSONSerialization.jsonObject(with: Data(file.metadata["adamw"]!.utf8)) as! [String: Any]
        var s = Optimizer.Settings()
        s.lr = Float(opt["lr"] as! Double)
        s.beta1 = Float(opt["beta1"] as! Double)
        s.beta2 = Float(opt["beta2"] as! Double)
        s.eps = Float(opt["eps"] as! Double)
        s.weightDecay = Float(opt["weight_decay"] as! Double)
        s.gradClip = 0  // the fixture clips nothing
        adamw = s
    }

    /// A model holding the fixture's weights.
    func makeModel() throws -> GPT {
        let model = try GPT(config: config, maxBatch: B, maxSeqLen: T)
        for t in model.layout.tensors {
            try file.read(t.name, into: model.params.pointer + t.offset, count: t.count)
        }
        return model
    }
}

/// max |a − b| / max |b|: the norm-wise relative error the parity tests bound.
func relativeError(_ a: UnsafePointer<Float>, _ b: [Float]) -> Double {
    var diff = 0.0, scale = 0.0
    for i in 0..<b.count {
        diff = max(diff, Double(abs(a[i] - b[i])))
        scale = max(scale, Double(abs(b[i])))
    }
    return scale == 0 ? diff : diff / scale
}

/// (f(x + h) − f(x − h)) / 2h for the parameter at `p`, which is restored afterwards.
func centralDifference(_ p: UnsafeMutablePointer<Float>, h: Float, _ f: () throws -> Double) rethrows -> Double {
    let saved = p.pointee
    p.pointee = saved + h
    let up = try f()
    p.pointee = saved - h
    let down = try f()
    p.pointee = saved
    return (up - down) / Double(2 * h)
}

/// The dropout checks every family's gradient test starts with: runs `loss` (training mode), then
/// `backward`; asserts that the same seed repeats the loss and that leaving training mode changes it.
/// Returns the training-mode loss.
@discardableResult
func assertSeededDropout(_ loss: () throws -> Double, backward: () -> Void, setTraining: (Bool) -> Void,
                         file: StaticString = #filePath, line: UInt = #line) throws -> Double {
    let base = try loss()
    backward()
    XCTAssertEqual(try loss(), base, "the same seed gives the same masks", file: file, line: line)
    setTraining(false)
    XCTAssertNotEqual(try loss(), base, "dropout changes the loss while training", file: file, line: line)
    setTraining(true)
    return base
}

/// The loss against the fixture's `loss`, then `backward` (which reports ranges to its argument): every
/// parameter reported ready once, from the high end of the buffer down, and every tensor's gradient
/// within `bound` of the fixture's `grad.<name>` (relative to its largest value).
func assertLossAndGradients(_ file: SafeTensors, loss: Float, tensors: [ParameterTensor], count: Int, grads: UnsafePointer<Float>,
                            bound: Double, _ tag: String, backward: (@escaping (Range<Int>) -> Void) -> Void,
                            fileID: StaticString = #filePath, line: UInt = #line) throws {
    let expected = try file.floats("loss")[0]
    XCTAssertEqual(Double(loss), Double(expected), accuracy: Double(abs(expected)) * bound, "\(tag) loss", file: fileID, line: line)
    var ready: [Range<Int>] = []
    backward { ready.append($0) }
    XCTAssertEqual(ready.map(\.count).reduce(0, +), count, "every parameter is reported ready once", file: fileID, line: line)
    XCTAssertEqual(ready.map(\.lowerBound), ready.map(\.lowerBound).sorted(by: >), "ranges are reported from the high end down", file: fileID, line: line)
    for t in tensors {
        let err = relativeError(grads + t.offset, try file.floats("grad." + t.name))
        XCTAssertLessThanOrEqual(err, bound, "\(tag) gradient of \(t.name): relative error \(err)", file: fileID, line: line)
    }
}

/// The encoder-decoders' dropout check (B 2, S 6, T 5, dropout seed 77): ids drawn in 2..<vocab, the
/// last two source positions of row 1 padding, the last target of row 1 ignored; decoder inputs from
/// `shiftRight`; then `assertGradientsMatchFiniteDifferences` on the label loss over every tensor.
func assertEncoderDecoderGradientsMatchFiniteDifferences<Model: EncoderDecoderModel & LanguageModel>(
    _ model: Model, vocab: Int, samples: Int, _ tag: String,
    shiftRight: (UnsafePointer<Int32>, UnsafeMutablePointer<Int32>, Int, Int) -> Void,
    file: StaticString = #filePath, line: UInt = #line) throws {
    let B = 2, S = 6, T = 5
    model.dropoutSeed = 77
    var rng = SplitMix64(seed: 9)
    let source = (0..<B * S).map { _ in Int32(2 + rng.next() % UInt64(vocab - 2)) }
    let mask: [UInt8] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    let labels: [Int32] = (0..<B * T).map { $0 == 9 ? -100 : Int32(2 + rng.next() % UInt64(vocab - 2)) }
    var decoderInput = [Int32](repeating: 0, count: B * T)
    shiftRight(labels, &decoderInput, B, T)
    func loss() throws -> Double {
        Double(try model.forward(source: source, sourceMask: mask, decoderInput: decoderInput, targets: labels, B: B, S: S, T: T))
    }
    try assertGradientsMatchFiniteDifferences(model.layout.tensors, params: model.params.pointer, grads: model.grads.pointer, samples: samples,
                                              rng: &rng, tag, loss: loss, backward: { model.zeroGrad(); model.backward(lossScale: 1, onReady: nil) },
                                              setTraining: { model.training = $0 }, file: file, line: line)
}

/// The seeded-dropout checks (`assertSeededDropout`), then `samples` central differences (h 1e-2) of
/// `loss` per tensor, each within 2e-3 + 2 % of the gradient backward left in `grads`.
func assertGradientsMatchFiniteDifferences(_ tensors: [ParameterTensor], params: UnsafeMutablePointer<Float>, grads: UnsafePointer<Float>,
                                           samples: Int, rng: inout SplitMix64, _ tag: String, loss: () throws -> Double,
                                           backward: () -> Void, setTraining: (Bool) -> Void,
                                           file: StaticString = #filePath, line: UInt = #line) throws {
    try assertSeededDropout(loss, backward: backward, setTraining: setTraining, file: file, line: line)
    for t in tensors {
        for _ in 0..<samples {
            let i = t.offset + Int(rng.next() % UInt64(t.count))
            let numeric = try centralDifference(params + i, h: 1e-2, loss)
            XCTAssertEqual(Double(grads[i]), numeric, accuracy: 2e-3 + 0.02 * abs(numeric), "\(tag)\(t.name)", file: file, line: line)
        }
    }
}
