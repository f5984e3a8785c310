import Config
import Foundation
import Model

/// STAND-IN (helper B): writes a checkpoint in the format of Sources/Checkpoint/StandInCheckpointReader.swift,
/// for the generate/eval tests before helper A's Checkpoint module is merged. When merging A's module,
/// replace `write` with A's checkpoint writer (or a `pretrain train` run that saves one) and delete this file.
enum StandInCheckpoint {
    /// Writes `<root>/step-NNNNNNNN` holding `params`, `config` and (optionally) a copy of `tokenizer`;
    /// returns the step directory.
    @discardableResult
    static func write(root: String, step: Int, config: RunConfig, params: FlatBuffer, tokenizer: String? = nil) throws -> String {
        let dir = root + String(format: "/step-%08d", step)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let manifest: [String: Any] = ["formatVersion": 1, "step": step, "worldSize": 1, "config": ConfigLoader.render(config),
                                       "parameterCount": params.count]
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        try Data(buffer: UnsafeBufferPointer(params.buffer)).write(to: URL(fileURLWithPath: dir + "/params.f32"))
        if let tokenizer { try FileManager.default.copyItem(atPath: tokenizer, toPath: dir + "/tokenizer.json") }
        return dir
    }
}
