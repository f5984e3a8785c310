import Foundation

/// A checkpoint root directory (`checkpoint.dir`): naming, listing, atomic commit and retention.
///
/// `step-00001000/` is a complete checkpoint exactly when it holds `manifest.json`; shards are
/// written into `step-00001000.tmp/` and the directory is renamed only after the manifest is in it
/// and synced, so a crash at any moment leaves either the complete directory or a `.tmp` one (which
/// is never read, and is removed by the next commit). `latest` names the newest complete checkpoint
/// (a convenience for people and scripts; readers scan the directory).
public struct CheckpointStore: Sendable {
    /// The root directory.
    public let root: String

    /// A store at `root` (nothing is created until a save).
    public init(root: String) { self.root = root }

    /// `step-00001000`.
    public static func name(step: Int) -> String {
        let s = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// The step of a complete checkpoint's directory name, or nil.
    public static func step(ofName name: String) -> Int? {
        guard name.hasPrefix("step-"), !name.contains(".") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    /// Final directory of `step`.
    public func directory(step: Int) -> String { root + "/" + Self.name(step: step) }
    /// Staging directory of `step`.
    public func stagingDirectory(step: Int) -> String { directory(step: step) + ".tmp" }

    /// Complete checkpoints (directories with a manifest), oldest first.
    public func complete() -> [(step: Int, path: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard let step = Self.step(ofName: name) else { return nil }
            let path = root + "/" + name
            return FileManager.default.fileExists(atPath: path + "/manifest.json") ? (step, path) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// Creates the staging directory of `step` (every rank calls this before writing its shard).
    public func prepareStaging(step: Int) throws {
        do { try FileManager.default.createDirectory(atPath: stagingDirectory(step: step), withIntermediateDirectories: true) } catch {
            throw CheckpointError("cannot create \(stagingDirectory(step: step)): \(error.localizedDescription); check checkpoint.dir")
        }
    }

    /// Finishes a save (one process, after every shard is written and synced): writes the manifest
    /// into the staging directory, syncs it, renames the directory into place, replaces `latest`, and
    /// keeps the newest `keepLast` complete checkpoints. Returns the final directory.
    @discardableResult
    public func commit(_ manifest: CheckpointManifest, tokenizer: String?, keepLast: Int) throws -> String {
        let fm = FileManager.default
        let staging = stagingDirectory(step: manifest.step)
        let final = directory(step: manifest.step)
        let previous = complete().last.map { " (the previous checkpoint \($0.path) is intact)" } ?? ""
        do {
            // Files of an earlier, interrupted attempt at this step (e.g. with another world size).
            let wanted = Set(manifest.shards.map(\.file) + ["tokenizer.json"])
            for name in (try? fm.contentsOfDirectory(atPath: staging)) ?? [] where !wanted.contains(name) {
                try? fm.removeItem(atPath: staging + "/" + name)
            }
            if let tokenizer {
                let copy = staging + "/tokenizer.json"
                try? fm.removeItem(atPath: copy)
                try CheckpointShardWriter.writeFile(try Data(contentsOf: URL(fileURLWithPath: tokenizer)), to: copy)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let json = try encoder.encode(manifest)
            try CheckpointShardWriter.writeFile(json, to: staging + "/manifest.json.part")
            guard rename(staging + "/manifest.json.part", staging + "/manifest.json") == 0 else { throw CheckpointShardWriter.failure(staging + "/manifest.json", "rename") }
            CheckpointShardWriter.syncDirectory(staging)
            if fm.fileExists(atPath: final) {
                // A checkpoint of this step from an earlier run: set it aside, then replace it.
                let aside = final + ".replaced"
                try? fm.removeItem(atPath: aside)
                guard rename(final, aside) == 0 else { throw CheckpointShardWriter.failure(final, "rename") }
                try? fm.removeItem(atPath: aside)
            }
            guard rename(staging, final) == 0 else { throw CheckpointShardWriter.failure(staging, "rename") }
            CheckpointShardWriter.syncDirectory(root)
            try CheckpointShardWriter.writeFile(Data((Self.name(step: manifest.step) + "\n").utf8), to: root + "/latest.part")
            guard rename(root + "/latest.part", root + "/latest") == 0 else { throw CheckpointShardWriter.failure(root + "/latest", "rename") }
            CheckpointShardWriter.syncDirectory(root)
        } catch let error as CheckpointError {
            try? fm.removeItem(atPath: root + "/latest.part")
            throw CheckpointError("checkpoint step \(manifest.step) was not saved: \(error.message)\(previous)")
        } catch {
            throw CheckpointError("checkpoint step \(manifest.step) was not saved: \(error.localizedDescription)\(previous)")
        }
        prune(keepLast: keepLast, keeping: manifest.step)
        return final
    }

    /// Removes the staging directory of a failed save.
    public func abandon(step: Int) {
        try? FileManager.default.removeItem(atPath: stagingDirectory(step: step))
    }

    /// Keeps the newest `keepLast` complete checkpoints (never the newest one, nor `keeping`), and
    /// removes staging directories left by interrupted saves. A checkpoint is renamed out of the
    /// `step-N` namespace before its files are deleted, so a crash meanwhile never leaves a partial
    /// directory that looks complete.
    public func prune(keepLast: Int, keeping: Int? = nil) {
        let fm = FileManager.default
        let all = complete()
        for (step, path) in all.dropLast(max(1, keepLast)) where step != keeping {
            let doomed = path + ".deleting"
            if rename(path, doomed) == 0 { try? fm.removeItem(atPath: doomed) }
        }
        for name in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where name.hasPrefix("step-") && (name.hasSuffix(".tmp") || name.hasSuffix(".deleting") || name.hasSuffix(".replaced")) {
            if let keeping, name == Self.name(step: keeping) + ".tmp" { continue }
            try? fm.removeItem(atPath: root + "/" + name)
        }
    }
}
