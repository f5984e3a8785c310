// ┌──────────────────────────────────────────────────────────────────────────────────────────────┐
// │ STAND-IN (helper B, branch `ux`): a minimal local implementation of the checkpoint contract   │
// │ (/tmp/briefs/contract.md) so that `pretrain generate` and `pretrain eval` compile and can be  │
// │ tested before helper A's Checkpoint module is merged. DELETE THIS FILE when merging A's real  │
// │ CheckpointReader / CheckpointManifest / CheckpointError (the duplicate types will not compile │
// │ side by side, so it cannot be forgotten). Its format: step-NNNNNNNN/manifest.json             │
// │ {"formatVersion":1,"step":N,"worldSize":W,"config":"<yaml>","parameterCount":P} and           │
// │ params.f32 (P little-endian Float32), optional tokenizer.json.                                │
// └──────────────────────────────────────────────────────────────────────────────────────────────┘
import Foundation

/// STAND-IN: a checkpoint problem, one line with the fix.
public struct CheckpointError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// STAND-IN: the manifest fields the CLI uses.
public struct CheckpointManifest: Codable, Sendable {
    public var formatVersion: Int
    public var step: Int
    public var worldSize: Int
    /// The run's resolved config as YAML.
    public var config: String
    public var parameterCount: Int
}

/// STAND-IN: opens a complete checkpoint and reads its parameters.
public struct CheckpointReader {
    /// The directory actually opened (`.../step-NNNNNNNN`).
    public let directory: String
    /// Parsed manifest.
    public let manifest: CheckpointManifest

    /// Opens a `step-NNNNNNNN` directory, or the newest one in a checkpoint root.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError("\(path) is not a checkpoint: no such directory; give a step-NNNNNNNN directory or checkpoint.dir")
        }
        var dir = path
        if !FileManager.default.fileExists(atPath: dir + "/manifest.json") {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            guard let newest = names.filter({ $0.hasPrefix("step-") && !$0.hasSuffix(".tmp") && FileManager.default.fileExists(atPath: dir + "/" + $0 + "/manifest.json") }).sorted().last else {
                throw CheckpointError("\(path) is not a checkpoint: no manifest.json, and no complete step-NNNNNNNN checkpoint in it")
            }
            dir += "/" + newest
        }
        directory = dir
        guard let data = FileManager.default.contents(atPath: dir + "/manifest.json"),
              let manifest = try? JSONDecoder().decode(CheckpointManifest.self, from: data) else {
            throw CheckpointError("\(dir)/manifest.json is not a valid manifest; the checkpoint is corrupt (use an older one)")
        }
        self.manifest = manifest
    }

    /// Path of the tokenizer.json saved inside the checkpoint directory, if the run had one.
    public var tokenizerPath: String? {
        let path = directory + "/tokenizer.json"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Reads the whole flat parameter buffer.
    public func readParameters(into buffer: UnsafeMutableBufferPointer<Float>) throws {
        guard buffer.count == manifest.parameterCount else {
            throw CheckpointError("\(directory) holds \(manifest.parameterCount) parameters but the model has \(buffer.count)")
        }
        guard let data = FileManager.default.contents(atPath: directory + "/params.f32"), data.count == buffer.count * 4 else {
            throw CheckpointError("\(directory)/params.f32 is missing or truncated; the checkpoint is corrupt (use an older one)")
        }
        _ = data.copyBytes(to: buffer)
    }
}
