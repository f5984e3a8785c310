import Config
import Kernels
import Model
import Training
import XCTest

/// The memory plan's parts against what the model types really allocate, ZeRO-1's share, the budget
/// and the one-line refusal.
final class MemoryPlanTests: XCTestCase {
    func testGPTActivationFloatsEqualWhatGPTActivationsAllocates() {
        var variants: [GPTConfig] = [GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)]
        var dropping = GPTConfig(vocabSize: 100, maxSeqLen: 24, nLayer: 3, nHead: 4, dModel: 48)
        dropping.attentionDropout = 0.1
        dropping.residualDropout = 0.1
        dropping.embeddingDropout = 0.1
        variants.append(dropping)
        var classifier = GPTConfig(vocabSize: 50, maxSeqLen: 8, nLayer: 1, nHead: 2, dModel: 16)
        classifier.numLabels = 3
        variants.append(classifier)
        for c in variants {
            for (B, T) in [(1, 1), (3, 8), (2, c.maxSeqLen)] {
                XCTAssertEqual(MemoryPlan.gptActivationFloats(c, B: B, T: T), try GPTActivations(config: c, B: B, T: T).floatCount, "\(c) B=\(B) T=\(T)")
            }
        }
    }

    /// Mixed precision, both element sizes (native 2, emulated 4): the plan's activations equal what
    /// `GPTActivations` allocates with rounded operands, and its bf16 part equals the weight copy (all
    /// but wte, 2 or 4 bytes a parameter) plus the scratch a bf16 forward and backward grows the matmul
    /// to; where `Linear.chunkElements` caps the operand chunks the plan may exceed that scratch by at
    /// most the two capped slots.
    func testMixedPrecisionPartsEqualWhatABF16StepAllocates() throws {
        let saved = Linear.chunkElements
        defer { Linear.chunkElements = saved }
        let c = GPTConfig(vocabSize: 96, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        let B = 8, T = 16, N = B * T   // N ≥ 64: a capped chunk keeps its 64-row (or 16-column) floor inside the cap
        let tokens = (0..<N).map { Int32($0 * 7 % 96) }, targets = (0..<N).map { Int32($0 * 5 % 96) }
        XCTAssertEqual(MemoryPlan.gptActivationFloats(c, B: B, T: T, operandBytes: nil), try GPTActivations(config: c, B: B, T: T).floatCount)
        for chunk in [saved, 8192] {
            Linear.chunkElements = chunk
            for mm in [try BF16Matmul(), try BF16Matmul(forceEmulated: true)] {
                let size = mm.elementSize, what = "\(mm.path) chunk \(chunk)"
                XCTAssertEqual(MemoryPlan.gptActivationFloats(c, B: B, T: T, operandBytes: size),
                               try GPTActivations(config: c, B: B, T: T, operandBytes: size).floatCount, what)
                let model = try GPT(config: c, maxBatch: B, maxSeqLen: T)
                model.initializeWeights(seed: 1)
                try model.useBF16(mm)
                _ = try model.forward(tokens: tokens, targets: targets, B: B, T: T)
                model.zeroGrad()
                model.backward()
                let count = model.layout.count
                let allocated = size * (count - c.vocabSize * c.dModel) + mm.scratchBytes
                let plan = MemoryPlan(gpt: c, B: B, T: T, baseline: 0, bf16ElementSize: size)
                XCTAssertEqual(plan.parameters, 4 * count, what)
                if chunk == saved {
                    XCTAssertEqual(plan.mixedPrecision, allocated, what)
                } else {
                    XCTAssertGreaterThanOrEqual(plan.mixedPrecision, allocated, what)
                    XCTAssertLessThanOrEqual(plan.mixedPrecision, allocated + 2 * chunk * size, what)
                }
            }
        }
    }

    func testBERTActivationFloatsEqualWhatBERTActivationsAllocates() {
        var run = RunConfig()
        run.family.arch = .bert
        run.model = GPTConfig(vocabSize: 70, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        for nsp in [false, true] {
            run.family.nsp = nsp
            let c = run.bertConfig
            for (B, T) in [(1, 4), (3, 16)] {
                XCTAssertEqual(MemoryPlan.bertActivationFloats(c, B: B, T: T), try BERTActivations(config: c, B: B, T: T).floatCount, "nsp \(nsp) B=\(B) T=\(T)")
            }
        }
    }

    func testZeROOneDividesTheMomentsAmongTheRanks() {
        var config = RunConfig()
        config.model = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        config.training.seqLen = 16
        let count = GPTLayout(config: config.model).count
        let plain = MemoryPlan(config: config, ranks: 4, baseline: 0)
        XCTAssertEqual(plain.parameters, 4 * count)
        XCTAssertEqual(plain.gradients, 4 * count)
        XCTAssertEqual(plain.moments, 8 * count)
        config.training.zero1 = true
        let zero = MemoryPlan(config: config, ranks: 4, baseline: 0)
        let piece = (count + 3) / 4
        XCTAssertEqual(zero.moments, 8 * piece + 4 * piece, "two moments and the update scratch of a quarter")
        XCTAssertEqual(zero.parameters, plain.parameters)
    }

    func testTheBudgetIsTheSmallerRoomSharedByTheHostsRanks() {
        let budget = MemoryPlan.Budget(memAvailable: 10 << 30, cgroupRoom: 6 << 30, cgroupLimit: 8 << 30, localRanks: 3)
        XCTAssertEqual(budget.perRank, (6 << 30) / 3)
        XCTAssertNil(MemoryPlan.Budget(memAvailable: nil, cgroupRoom: nil, cgroupLimit: nil, localRanks: 2).perRank)
    }

    func testARefusalIsOneLineWithTheNumbersAndTheLevers() {
        var config = RunConfig()
        config.model = GPTConfig(vocabSize: 64, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32)
        config.training.seqLen = 16
        config.training.microBatch = 4
        let plan = MemoryPlan(config: config, ranks: 2, baseline: 0)
        let budget = MemoryPlan.Budget(memAvailable: 2 << 20, cgroupRoom: nil, cgroupLimit: nil, localRanks: 2)
        XCTAssertThrowsError(try plan.check(against: budget, config: config, ranks: 2)) { error in
            let text = (error as? TrainingError)?.message ?? "\(error)"
            XCTAssertFalse(text.contains("\n"))
            XCTAssertTrue(text.hasPrefix("not enough memory: each rank needs \(MemoryPlan.gib(plan.added)) more (parameters "), text)
            XCTAssertTrue(text.contains("but can use 1.0 MiB (MemAvailable 2.0 MiB ÷ 2 ranks on this host)"), text)
            for lever in ["training.micro_batch (4", "training.seq_len (16)", "training.zero1: true", "model.n_layer 2", "fewer ranks per host"] {
                XCTAssertTrue(text.contains(lever), "\(lever) missing: \(text)")
            }
        }
        // The levers of the bigger part come first: here the model's state, with a long batch the activations.
        func order(_ config: RunConfig) -> Bool? {
            let plan = MemoryPlan(config: config, ranks: 2, baseline: 0)
            do { try plan.check(against: budget, config: config, ranks: 2); return nil } catch {
                let text = "\(error)"
                guard let zero = text.range(of: "training.zero1"), let batch = text.range(of: "training.micro_batch") else { return nil }
                return batch.lowerBound < zero.lowerBound
            }
        }
        XCTAssertLessThan(plan.activations, plan.parameters + plan.gradients + plan.moments + plan.checkpoint)
        XCTAssertEqual(order(config), false)
        var long = config
        long.training.microBatch = 512
        XCTAssertGreaterThan(MemoryPlan(config: long, ranks: 2, baseline: 0).activations, plan.parameters + plan.gradients + plan.moments + plan.checkpoint)
        XCTAssertEqual(order(long), true)
        XCTAssertNoThrow(try plan.check(against: MemoryPlan.Budget(memAvailable: 64 << 30, cgroupRoom: nil, cgroupLimit: nil, localRanks: 2),
                                        config: config, ranks: 2))
    }
}
