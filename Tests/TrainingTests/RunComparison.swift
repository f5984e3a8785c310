import Config
import Foundation
import Distributed
import Model
import Training
import XCTest

/// One in-process run of `config` on `ranks` ranks (resumed from `resumeFrom` when given): rank 0's
/// step losses and final parameters, after checking every rank holds rank 0's parameters bitwise.
func trainInProcess(_ config: RunConfig, ranks: Int, options: TrainerOptions = TrainerOptions(), resumeFrom: String? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws -> (losses: [Float], params: [Float]) {
    let results = try InProcessGroup.run(size: ranks) { comm -> ([Float], [Float]) in
        var losses: [Float] = []
        let trainer = try Trainer(config: config, comm: comm, threads: 1, options: options) { event in
            if case let .step(m) = event { losses.append(m.loss) }
        }
        if let resumeFrom { _ = try trainer.resume(from: resumeFrom) }
        try trainer.run()
        return (losses, trainer.model.params.toArray())
    }
    for r in 1..<ranks { XCTAssertEqual(results[r].1, results[0].1, "rank \(r) holds rank 0's parameters, bitwise", file: file, line: line) }
    return results[0]
}

/// `many`'s losses and final parameters equal `one`'s to 1e-5 relative (N ranks against 1 rank).
func assertSameRun(_ many: (losses: [Float], params: [Float]), _ one: (losses: [Float], params: [Float]), _ tag: String,
                   file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(many.losses.count, one.losses.count, tag, file: file, line: line)
    for (i, (a, b)) in zip(many.losses, one.losses).enumerated() {
        XCTAssertEqual(Double(a), Double(b), accuracy: 1e-5 * Double(abs(b)), "\(tag), step \(i + 1) loss", file: file, line: line)
    }
    var worst = 0.0, scale = 0.0
    for (a, b) in zip(many.params, one.params) { worst = max(worst, Double(abs(a - b))); scale = max(scale, Double(abs(b))) }
    XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(tag): final parameters", file: file, line: line)
}

/// Building a trainer for `config` fails with one line containing `expected`.
func assertTrainerRefuses(_ config: RunConfig, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try InProcessGroup.run(size: 1) { comm in _ = try Trainer(config: config, comm: comm, threads: 1) }) { error in
        let text = "\(error)"
        XCTAssertTrue(text.contains(expected), text, file: file, line: line)
        XCTAssertFalse(text.contains("\n"), text, file: file, line: line)
    }
}

/// Runs `config` on `ranks` ranks for 8 steps with checkpoints every 4 into `dir`/a and copies the
/// step-4 checkpoint into `dir`/b; returns the run and `config` set to continue from `dir`/b.
private func runWithCheckpoints(_ config: RunConfig, ranks: Int, dir: String) throws -> (run: (losses: [Float], params: [Float]), resume: RunConfig) {
    var config = config
    config.training.steps = 8
    config.checkpoint.every = 4
    config.checkpoint.dir = dir + "/a"
    let straight = try trainInProcess(config, ranks: ranks, options: .withCheckpoints)
    try FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: dir + "/a/step-00000004", toPath: dir + "/b/step-00000004")
    config.checkpoint.dir = dir + "/b"
    return (straight, config)
}

/// Runs `config` on `ranks` ranks with checkpoints every 4 of its 8 steps into `dir`/a, then resumes a
/// copy of the step-4 checkpoint in `dir`/b: steps 5…8 must repeat the uninterrupted run bit for bit.
func assertResumeRepeatsAnUninterruptedRun(_ config: RunConfig, ranks: Int, dir: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let (straight, config) = try runWithCheckpoints(config, ranks: ranks, dir: dir)
    let resumed = try trainInProcess(config, ranks: ranks, options: .withCheckpoints, resumeFrom: "auto")
    XCTAssertEqual(resumed.losses, Array(straight.losses[4...]), "steps 5…8", file: file, line: line)
    XCTAssertEqual(resumed.params.map(\.bitPattern), straight.params.map(\.bitPattern), "parameters bitwise", file: file, line: line)
}

/// Resharding: runs `config` (2 ranks, 3 micro-batches each) with checkpoints every 4 of its 8 steps,
/// then resumes the step-4 checkpoint on 3 ranks of 2 micro-batches (the same global batch) with ZeRO-1:
/// steps 5…8 give the uninterrupted run's losses and parameters to 1e-5 (`assertSameRun`; ranks add
/// gradients in another order). `comparable` blanks parameters whose gradient is rounding noise.
func assertReshardTwoToThreeContinuesTheRun(_ config: RunConfig, dir: String, comparable: ([Float]) -> [Float] = { $0 },
                                            file: StaticString = #filePath, line: UInt = #line) throws {
    var two = config
    two.launch.numProcesses = 2
    two.training.gradientAccumulationSteps = 3
    let (straight, resume) = try runWithCheckpoints(two, ranks: 2, dir: dir)
    var three = resume
    three.launch.numProcesses = 3
    three.training.gradientAccumulationSteps = 2
    three.training.zero1 = true
    let resumed = try trainInProcess(three, ranks: 3, options: .withCheckpoints, resumeFrom: "auto")
    assertSameRun((resumed.losses, comparable(resumed.params)), (Array(straight.losses[4...]), comparable(straight.params)), "2→3 ranks",
                  file: file, line: line)
}

extension TrainerOptions {
    /// Options that write the config's checkpoints.
    static var withCheckpoints: TrainerOptions {
        var options = TrainerOptions()
        options.checkpoints = true
        return options
    }
}

/// Trains `config` for `steps` steps on 1 rank with its checkpoint in `dir`/ckpt; returns it opened.
func trainedCheckpoint(_ config: RunConfig, steps: Int, dir: String) throws -> ModelCheckpoint {
    var config = config
    config.training.steps = steps
    config.checkpoint.dir = dir + "/ckpt"
    _ = try trainInProcess(config, ranks: 1, options: .withCheckpoints)
    return try ModelCheckpoint.open(dir + "/ckpt")
}

/// The first (best) generated text of a prediction with its ids; throws when it generated nothing.
func firstOutput(_ prediction: TextPrediction) throws -> (text: String, ids: [Int32]) {
    guard case let .generated(outputs, _) = prediction, let first = outputs.first else { throw TrainingError("not generated text: \(prediction.json)") }
    return first
}
