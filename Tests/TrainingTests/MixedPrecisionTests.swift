import Config
import DataPipeline
import Distributed
import Foundation
import Kernels
import Model
import Training
import TestSupport
import XCTest

/// `mixed_precision: bf16` end to end: it trains as well as fp32, ranks agree, resume is exact, and
/// checkpoints (fp32 always) move between precisions.
final class MixedPrecisionTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try TrainingFixtures.corpus() }
    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
        unsetenv("PRETRAIN_BF16")
    }

    func config(_ precision: String, steps: Int = 20, ranks: Int = 1, microBatch: Int = 4, accumulation: Int = 1) -> RunConfig {
        var c = TrainingFixtures.config(data: dir, processes: ranks, microBatch: microBatch, accumulation: accumulation, steps: steps)
        c.launch.mixedPrecision = precision
        c.logging.runDir = dir + "/run-\(precision)-\(UUID().uuidString)"
        return c
    }

    /// Every step's loss and rank 0's final parameters; all ranks must hold the same ones bitwise.
    func train(_ config: RunConfig, ranks: Int = 1, resume: String? = nil, options: TrainerOptions = TrainerOptions(),
               warnings: UnsafeMutablePointer<[String]>? = nil) throws -> (losses: [Float], params: [Float]) {
        let results = try InProcessGroup.run(size: ranks) { comm -> ([Float], [Float]) in
            var losses: [Float] = []
            var options = options
            options.checkpoints = config.checkpoint.every > 0
            let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options) { event in
                if case let .step(m) = event { losses.append(m.loss) }
                if case let .warning(w) = event, comm.rank == 0 { warnings?.pointee.append(w) }
            }
            if let resume { try trainer.resume(from: resume) }
            try trainer.run()
            return (losses, trainer.model.params.toArray())
        }
        for r in 1..<ranks { XCTAssertEqual(results[r].1, results[0].1, "rank \(r) holds rank 0's parameters, bitwise") }
        return results[0]
    }

    func mean(_ xs: ArraySlice<Float>) -> Double { xs.reduce(0.0) { $0 + Double($1) } / Double(xs.count) }

    /// 200 steps: the bf16 run's loss (mean of the last 20 steps) ends within 2 % of the fp32 run's, on
    /// the native path and on the emulated one; the runs really differ (bf16 is not silently fp32).
    func testTwoHundredStepsEndWithinTwoPercentOfFP32() throws {
        let fp32 = try train(config("no", steps: 200))
        let bf16 = try train(config("bf16", steps: 200))
        setenv("PRETRAIN_BF16", "emulated", 1)
        var warnings: [String] = []
        let emulated = try train(config("bf16", steps: 200), warnings: &warnings)
        unsetenv("PRETRAIN_BF16")
        XCTAssertEqual(warnings.filter { $0.contains("at fp32 speed") }.count, 1, "one line says bf16 is emulated: \(warnings)")
        let reference = mean(fp32.losses.suffix(20))
        XCTAssertLessThan(reference, Double(fp32.losses.first!) - 1, "fp32 learns: \(fp32.losses.first!) → \(reference)")
        for (name, run) in [("native", bf16), ("emulated", emulated)] {
            let end = mean(run.losses.suffix(20))
            XCTAssertEqual(end, reference, accuracy: 0.02 * reference, "\(name) bf16 ends at \(end), fp32 at \(reference)")
            XCTAssertNotEqual(run.params, fp32.params, "\(name) bf16 rounds something")
        }
        // Native and emulated multiply the same bf16 numbers: their first step differs only by the
        // order of fp32 accumulation.
        XCTAssertEqual(Double(bf16.losses[0]), Double(emulated.losses[0]), accuracy: 1e-5 * Double(bf16.losses[0]))
    }

    /// N ranks × 1 micro-batch = 1 rank × N micro-batches, bit for bit, in bf16 (and in fp32): every
    /// rank rounds the same weights, and the one rank adds each micro-batch's gradient to the earlier
    /// ones once per element (`Parallel.addRowSums`, `HeldGradientRows`, the products' single add onto
    /// the buffer) exactly as the in-process allreduce adds the ranks' gradients in rank order. The
    /// token embedding is not deferred (deferring sums its lookup rows after the table: another order).
    func testNRanksMatchOneRankBitwiseInBF16() throws {
        var options = TrainerOptions()
        options.deferTokenEmbedding = false
        for precision in ["bf16", "no"] {
            for ranks in [2, 4] {
                let one = try train(config(precision, steps: 10, ranks: 1, microBatch: 2, accumulation: ranks), options: options)
                let many = try train(config(precision, steps: 10, ranks: ranks, microBatch: 2, accumulation: 1), ranks: ranks, options: options)
                XCTAssertEqual(many.losses.map(\.bitPattern), one.losses.map(\.bitPattern), "\(precision), \(ranks) ranks: losses bitwise")
                let differing = zip(many.params, one.params).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(precision), \(ranks) ranks: parameters differing from 1 rank's")
                XCTAssertLessThan(one.losses.last!, one.losses.first!, "\(precision) learns")
            }
        }
    }

    /// The bf16 copy that AdamW refreshes holds every weight but the token embedding (rounded per use
    /// instead, `BF16Matmul.attach(skipping:)`), each the rounded current fp32 value after training.
    func testWeightCopySkipsTheTokenEmbeddingAndStaysCurrent() throws {
        let c = config("bf16", steps: 3)
        let results = try InProcessGroup.run(size: 1) { comm -> (kept: [Bool], stale: Int, checked: Int) in
            let trainer = try Trainer(config: c, comm: comm, threads: 1)
            try trainer.run()
            let model = trainer.model, bf16 = try XCTUnwrap(model.bf16)
            let params = model.params.pointer, count = model.layout.count
            let wte = try XCTUnwrap(model.deferrableEmbeddingRange)
            var stale = 0, checked = 0
            for i in 0..<count where !wte.contains(i) {
                let operand = bf16.weight(params + i, count: 1, slot: 3), want = BF16Rounding.round(params[i])
                let got = bf16.elementSize == 2 ? Float(bitPattern: UInt32(operand.load(as: UInt16.self)) << 16) : operand.load(as: Float.self)
                if got.bitPattern != want.bitPattern { stale += 1 }
                checked += 1
            }
            return ([bf16.keeps(params + wte.lowerBound, count: wte.count), bf16.keeps(params + wte.upperBound, count: count - wte.upperBound)],
                    stale, checked)
        }
        XCTAssertEqual(results[0].kept, [false, true], "no copy of wte; a copy of everything after it")
        XCTAssertGreaterThan(results[0].checked, 1000)
        XCTAssertEqual(results[0].stale, 0, "weights whose copy is not the rounded current value")
    }

    /// bf16 combines with ZeRO-1 (each rank updates its pieces, the bf16 copy is rebuilt after the
    /// all-gather: a stale copy would train on old weights and drift far) and with bf16 gradient
    /// compression: both follow plain 2-rank bf16 within a bf16 rounding step of the loss (2⁻⁸).
    func testBF16CombinesWithZeRO1AndCompressedGradients() throws {
        let plain = try train(config("bf16", steps: 10, ranks: 2, microBatch: 2, accumulation: 2), ranks: 2)
        var zero = config("bf16", steps: 10, ranks: 2, microBatch: 2, accumulation: 2)
        zero.training.zero1 = true
        var compressed = config("bf16", steps: 10, ranks: 2, microBatch: 2, accumulation: 2)
        compressed.training.gradCompression = .bf16
        for (name, c) in [("ZeRO-1", zero), ("grad_compression bf16", compressed)] {
            let run = try train(c, ranks: 2)
            for (i, (a, b)) in zip(run.losses, plain.losses).enumerated() {
                XCTAssertEqual(Double(a), Double(b), accuracy: Double(abs(b)) / 256, "\(name), step \(i + 1)")
            }
        }
    }

    /// Stopping at step 10 and resuming in bf16 gives the uninterrupted run's parameters bit for bit
    /// (the bf16 weight copy is rebuilt from the restored fp32 weights).
    func testResumeInBF16IsBitExact() throws {
        var c = config("bf16", steps: 20)
        c.checkpoint.every = 10
        c.checkpoint.keepLast = 5
        let straight = try train(c)
        let resumed = try train(c, resume: Trainer.checkpointRoot(c) + "/step-00000010")
        XCTAssertEqual(resumed.losses, Array(straight.losses.suffix(10)))
        XCTAssertEqual(resumed.params.map(\.bitPattern), straight.params.map(\.bitPattern), "parameters bitwise")
    }

    /// fp32 for 10 steps → bf16 from its checkpoint → fp32 again: every switch continues the curve
    /// (within 2 % of the all-fp32 run's loss), because checkpoints hold fp32 weights whatever the precision.
    func testPrecisionCanChangeOnResume() throws {
        // A constant learning rate, so that stopping at step 10 or 20 does not change the schedule.
        func segment(_ precision: String, steps: Int) -> RunConfig {
            var c = config(precision, steps: steps)
            c.schedule.kind = .constant
            c.checkpoint.every = 10
            return c
        }
        let first = segment("no", steps: 10)
        var all = segment("no", steps: 30)
        all.checkpoint.every = 0
        let plain = try train(all)
        _ = try train(first)
        let second = segment("bf16", steps: 20)
        let b = try train(second, resume: Trainer.checkpointRoot(first) + "/step-00000010")
        let third = segment("no", steps: 30)
        let c = try train(third, resume: Trainer.checkpointRoot(second) + "/step-00000020")
        XCTAssertEqual(b.losses.count, 10)
        XCTAssertEqual(c.losses.count, 10)
        XCTAssertEqual(Double(b.losses[0]), Double(plain.losses[10]), accuracy: 0.02 * Double(plain.losses[10]))
        XCTAssertEqual(mean(c.losses.suffix(5)), mean(plain.losses.suffix(5)), accuracy: 0.02 * mean(plain.losses.suffix(5)))
    }

    /// BERT with next-sentence prediction (masked-LM head, pooler and sequence head: the classifier's
    /// path) trains in bf16 as in fp32: the 60-step curve ends within 2 %.
    func testBERTWithItsSequenceHeadTrainsInBF16LikeFP32() throws {
        let bytes = (0..<256).map { [UInt8($0)] as [UInt8]? }
        let added = AddedToken.defaultSpecials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        try Tokenizer(tokens: bytes, merges: [], addedTokens: added).save(to: dir + "/tokenizer.json")
        func bert(_ precision: String) throws -> RunConfig {
            var c = TrainingFixtures.config(data: dir, processes: 1, microBatch: 4, accumulation: 1, steps: 60,
                                            model: GPTConfig(vocabSize: 261, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32))
            c.family.arch = .bert
            c.family.nsp = true
            c.data.tokenizer = dir + "/tokenizer.json"
            c.launch.mixedPrecision = precision
            try ConfigLoader.validate(c, origin: "test")
            return c
        }
        let fp32 = try train(bert("no")), bf16 = try train(bert("bf16"))
        let a = mean(fp32.losses.suffix(10)), b = mean(bf16.losses.suffix(10))
        XCTAssertLessThan(a, Double(fp32.losses.first!) - 0.3, "BERT learns")
        XCTAssertEqual(b, a, accuracy: 0.02 * a, "bf16 \(b) vs fp32 \(a)")
        XCTAssertNotEqual(bf16.params, fp32.params)
    }

    /// `auto` is bf16 exactly where the CPU multiplies bf16 natively: forced emulation makes it fp32
    /// (bitwise the `no` run, no emulation warning, the start line says so); otherwise it trains as
    /// `bf16` does on this CPU, bitwise.
    func testAutoIsBF16WhereNativeElseFP32() throws {
        let fp32 = try train(config("no", steps: 5)), bf16 = try train(config("bf16", steps: 5))
        var native: [String] = []
        let auto = try train(config("auto", steps: 5), warnings: &native)
        let expected = BF16Matmul.cpuHasNativeBF16 ? bf16 : fp32
        XCTAssertEqual(auto.losses.map(\.bitPattern), expected.losses.map(\.bitPattern))
        XCTAssertEqual(auto.params.map(\.bitPattern), expected.params.map(\.bitPattern))
        XCTAssertEqual(Trainer.effectiveMixedPrecision("auto"), BF16Matmul.cpuHasNativeBF16 ? "bf16" : "no")
        XCTAssertTrue(native.isEmpty, "auto never runs emulated bf16: \(native)")

        setenv("PRETRAIN_BF16", "emulated", 1)
        defer { unsetenv("PRETRAIN_BF16") }
        var warnings: [String] = []
        var started: [String] = []
        let c = config("auto", steps: 5)
        let emulated = try InProcessGroup.run(size: 1) { comm -> ([Float], [Float]) in
            var losses: [Float] = []
            let trainer = try Trainer(config: c, comm: comm, threads: 1) { event in
                if case let .step(m) = event { losses.append(m.loss) }
                if case let .warning(w) = event { warnings.append(w) }
                if case .started = event {
                    let console = TrainingConsole(totalSteps: 5, rank: 0, interval: 1, quiet: false, interactive: false)
                    for case let .line(text) in console.render(event) where text.hasPrefix("training: ") { started.append(text) }
                }
            }
            try trainer.run()
            return (losses, trainer.model.params.toArray())
        }[0]
        XCTAssertEqual(Trainer.effectiveMixedPrecision("auto"), "no")
        XCTAssertEqual(emulated.0.map(\.bitPattern), fp32.losses.map(\.bitPattern), "auto where bf16 would be emulated is fp32")
        XCTAssertEqual(emulated.1.map(\.bitPattern), fp32.params.map(\.bitPattern))
        XCTAssertTrue(warnings.isEmpty, "\(warnings)")
        XCTAssertTrue(started.first?.contains("[in-process], fp32 (mixed_precision: auto), ") == true, "\(started)")
        XCTAssertEqual(Trainer.effectiveMixedPrecision("bf16"), "bf16")
        XCTAssertEqual(Trainer.effectiveMixedPrecision("no"), "no")
    }

    /// Other values are refused with the accepted ones listed.
    func testOtherPrecisionsAreOneLineErrors() throws {
        for value in ["fp16", "fp8", "float32"] {
            var c = RunConfig()
            XCTAssertThrowsError(try ConfigLoader.apply(override: "mixed_precision=\(value)", to: &c)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("mixed_precision") && text.contains("no") && text.contains("bf16"), text)
                XCTAssertFalse(text.contains("\n"), text)
            }
        }
    }
}
