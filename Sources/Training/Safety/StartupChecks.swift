import Checkpoint
import Config
import DataPipeline
import Distributed
import Foundation

/// What every rank checks before the first step, so that a problem is one line at the start instead of
/// a failure after `checkpoint.every` steps of work (or never, as a checkpoint without its tokenizer):
///
/// - data.train (and data.val when set) name files that exist, or a glob that matches some;
/// - the tokenizer named by `data.tokenizer` exists and fits the model (`data.tokenizer: ''` means
///   none: the checkpoints then carry no tokenizer.json);
/// - `logging.run_dir` and the checkpoint root can be created and written: a probe file is created
///   and removed in each, and a failure names the path and the system's reason (`strerror`).
public enum StartupChecks {
    /// A problem found at start. `report` is true on the one rank that prints it (the lowest rank
    /// that found one); the others end quietly.
    public struct Failure: Error, CustomStringConvertible {
        /// The problem, one line (prefixed with the rank when it is not rank 0).
        public let message: String
        /// Whether this rank prints it.
        public let report: Bool
        public var description: String { message }
    }

    /// Runs the checks on this rank; collective: every rank learns whether any rank found a problem
    /// and throws `Failure` if so.
    public static func run(_ config: RunConfig, comm: any Communicator) throws {
        let problem = firstProblem(config, rank: comm.rank)
        // max(size − rank) over the ranks that found a problem names the lowest of them.
        var found = [Int32(problem == nil ? 0 : comm.size - comm.rank)]
        if comm.size > 1 { try found.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .max) } }
        guard found[0] > 0 else { return }
        let speaker = comm.size - Int(found[0])
        let text = problem ?? ""
        throw Failure(message: speaker == 0 ? text : "rank \(speaker): \(text)", report: speaker == comm.rank)
    }

    /// A fresh run would replace an earlier run's checkpoints step by step: refuse instead, on every
    /// rank alike (any rank that sees one decides, so ranks without a shared filesystem agree too).
    public static func refuseToReplaceCheckpoints(in root: String, comm: any Communicator) throws {
        let newest = CheckpointStore(root: root).complete().last
        var seen: [Int32] = [newest == nil ? 0 : 1]
        if comm.size > 1 { try seen.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .max) } }
        guard seen[0] == 1 else { return }
        throw TrainingError("\(root) already holds checkpoints of an earlier run (newest: \(newest?.path ?? "on another rank")); "
                            + "continue it with --resume auto, or set checkpoint.dir (or logging.run_dir) to a new directory, or remove the old one",
                            exitCode: 2)
    }

    /// The first problem on this rank, or nil.
    public static func firstProblem(_ config: RunConfig, rank: Int) -> String? {
        dataProblem(config.data.train, key: "data.train") ?? (config.data.val.isEmpty ? nil : dataProblem(config.data.val, key: "data.val"))
            ?? tokenizerProblem(config) ?? writableProblem(config.logging.runDir, key: "logging.run_dir", rank: rank)
            ?? writableProblem(Trainer.checkpointRoot(config), key: config.checkpoint.dir.isEmpty ? "logging.run_dir" : "checkpoint.dir", rank: rank)
    }

    /// The token shards `location` names (a file, a directory, or a glob) exist: a glob matches at
    /// least one file, a plain path exists. The loader checks the shards themselves.
    static func dataProblem(_ location: String, key: String) -> String? {
        let fix = "write shards with `pretrain data prepare --out DIR` (or `make data`) and set \(key) to them, e.g. DIR/\(key == "data.val" ? "val" : "train")_*.bin"
        guard !location.isEmpty else { return "\(key) is empty; \(fix)" }
        if location.contains(where: { "*?[".contains($0) }) {
            var matches = glob_t()
            defer { globfree(&matches) }
            guard glob(location, 0, nil, &matches) == 0, matches.gl_pathc > 0 else { return "\(key) \(location) matches no files; \(fix)" }
            return nil
        }
        guard FileManager.default.fileExists(atPath: location) else { return "\(key) \(location): no such file or directory; \(fix)" }
        return nil
    }

    /// The tokenizer exists, loads, and its vocabulary fits `model.vocab_size`.
    static func tokenizerProblem(_ config: RunConfig) -> String? {
        let path = config.data.tokenizer
        guard !path.isEmpty else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return "data.tokenizer \(path): no such file; write it with `pretrain data prepare` (or `make data`), point data.tokenizer "
                + "at your shards' tokenizer.json, or set data.tokenizer: '' to train without one (checkpoints then carry no tokenizer for `generate`)"
        }
        if isDirectory.boolValue {
            return "data.tokenizer \(path) is a directory; name the tokenizer.json file in it"
        }
        do {
            try HuggingFaceTokenizer.load(from: path).checkFits(modelVocabularySize: config.model.vocabSize)
        } catch {
            return "data.tokenizer: \(error)"
        }
        return nil
    }

    /// `directory` (named by `key`) exists or can be created, and a file can be created in it and removed.
    static func writableProblem(_ directory: String, key: String, rank: Int) -> String? {
        let fix = "set \(key) to a directory this user can write"
        if let (path, reason) = makeDirectories(directory) {
            let what = path == directory ? "" : " (at \(path))"
            return "\(key) \(directory) cannot be created\(what): \(reason); \(fix)"
        }
        let probe = directory + "/.pretrain-write-check-\(rank)-\(getpid())"
        let fd = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "\(key) \(directory) is not writable: \(String(cString: strerror(errno))); \(fix)" }
        var byte: UInt8 = 0
        let wrote = write(fd, &byte, 1)
        let writeError = errno
        close(fd)
        unlink(probe)
        guard wrote == 1 else { return "\(key) \(directory) is not writable: \(String(cString: strerror(writeError))); \(fix)" }
        return nil
    }

    /// `mkdir -p directory`; nil on success, else the path that failed and why (a regular file in the
    /// way is named as such).
    static func makeDirectories(_ directory: String) -> (String, String)? {
        let absolute = directory.hasPrefix("/")
        var path = absolute ? "" : "."
        for part in directory.split(separator: "/") where !part.isEmpty {
            path += "/" + part
            var info = stat()
            if stat(path, &info) == 0 {
                if (info.st_mode & S_IFMT) == S_IFDIR { continue }
                return (display(path, absolute), "\(display(path, absolute)) is a file, not a directory")
            }
            if mkdir(path, 0o777) != 0, errno != EEXIST {
                return (display(path, absolute), String(cString: strerror(errno)))
            }
        }
        return nil
    }

    private static func display(_ path: String, _ absolute: Bool) -> String {
        absolute ? path : String(path.dropFirst(2))
    }
}
