import Checkpoint
import Foundation
import Model
import TestSupport
import XCTest

/// `pretrain checkpoint inspect | export | import` on a trained checkpoint: the export re-imports to
/// the same parameters bitwise, and a run fine-tunes from the imported step-0 checkpoint.
final class CheckpointCommandTests: XCTestCase {
    func testInspectExportImportAndTrainFromTheImport() throws {
        let dir = try CheckpointFixtures.temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try CheckpointFixtures.corpus(in: dir)
        var config = CheckpointFixtures.config(data: dir, steps: 4)
        config.training.zero1 = true
        let file = try CheckpointFixtures.write(config, in: dir)
        let run = try CheckpointFixtures.train(2, file, runDir: dir + "/run")
        XCTAssertEqual(run.status, 0, run.output)
        let root = dir + "/run/checkpoints"

        let inspect = try ProcessRunner.pretrain(["checkpoint", "inspect", root])
        XCTAssertEqual(inspect.status, 0, inspect.output)
        for text in ["step-00000004", "format version 1", "step 4, tokens seen \(4 * 8 * 16)", "saved by 2 rank(s) with ZeRO-1 moments",
                     "rank-00000-of-00002.zst", "rank-00001-of-00002.zst", "n_layer 2", "ratio"] {
            XCTAssertTrue(inspect.output.contains(text), "inspect shows \(text):\n\(inspect.output)")
        }

        let export = try ProcessRunner.pretrain(["checkpoint", "export", root, "--format", "safetensors", "--out", dir + "/hf"])
        XCTAssertEqual(export.status, 0, export.output)
        let st = try SafeTensors(path: dir + "/hf/model.safetensors")
        XCTAssertEqual(st.entries["transformer.h.1.attn.c_attn.weight"]?.shape, [32, 96])
        XCTAssertEqual(st.entries["transformer.wte.weight"]?.shape, [64, 32])

        let imported = try ProcessRunner.pretrain(["checkpoint", "import", dir + "/hf", "--out", dir + "/imported"])
        XCTAssertEqual(imported.status, 0, imported.output)
        let original = try CheckpointFixtures.buffers(root).params
        let reader = try CheckpointReader(path: dir + "/imported")
        XCTAssertEqual(reader.manifest.step, 0)
        XCTAssertFalse(reader.manifest.hasOptimizerState)
        var back = [Float](repeating: 0, count: reader.manifest.parameterCount)
        try back.withUnsafeMutableBufferPointer { try reader.readParameters(into: $0) }
        XCTAssertEqual(CheckpointFixtures.bits(back), CheckpointFixtures.bits(original), "an imported export equals the checkpoint's parameters")

        // Fine-tune from the import: step 1 starts from the trained weights (its loss is below the
        // loss of step 1 from scratch).
        let tune = try CheckpointFixtures.train(1, file, runDir: dir + "/tune", ["--resume", dir + "/imported/step-00000000", "--set", "training.steps=2"])
        XCTAssertEqual(tune.status, 0, tune.output)
        let scratch = try CheckpointFixtures.losses(dir + "/run"), tuned = try CheckpointFixtures.losses(dir + "/tune")
        XCTAssertEqual(tuned.keys.sorted(), [1, 2])
        XCTAssertLessThan(tuned[1]!, scratch[1]! - 0.1, "fine-tuning starts from the imported weights")

        let bad = try ProcessRunner.pretrain(["checkpoint", "export", dir + "/nothing", "--out", dir + "/x"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.lines, ["error: \(dir)/nothing: no such checkpoint directory; check the path (or checkpoint.dir)"])
    }
}
