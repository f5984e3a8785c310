#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `DIR/prepare.json`: the record of a completed `pretrain data prepare`, written last.
///
/// Its presence means the directory is complete; its settings and input fingerprints (path,
/// size, modification time) decide whether a later run with the same arguments can skip the work.
public struct PrepareManifest: Codable, Equatable, Sendable {
    /// A file's identity for caching: path, size and modification time in nanoseconds.
    public struct Fingerprint: Codable, Equatable, Sendable {
        /// The path as found.
        public var path: String
        /// Size in bytes.
        public var bytes: Int
        /// Modification time, nanoseconds since the epoch.
        public var modified: Int64

        /// The fingerprint of `path` now (size 0, time 0 when it cannot be read).
        public init(path: String) {
            self.path = path
            var info = stat()
            if stat(path, &info) == 0 {
                bytes = Int(info.st_size)
                #if canImport(Darwin)
                modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
                #else
                modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
                #endif
            } else {
                bytes = 0
                modified = 0
            }
        }
    }

    /// Bumped when the output format or the algorithm changes, so old caches are redone.
    public static let currentFormat = 1
    /// The manifest's own file name inside the output directory.
    public static let fileName = "prepare.json"

    /// The format version this manifest was written with.
    public var format: Int
    /// The settings of the run.
    public var settings: PrepareSettings
    /// The text files read, in order.
    public var inputs: [Fingerprint]
    /// The tokenizer file loaded (nil when one was trained).
    public var tokenizerSource: Fingerprint?
    /// Output files (names inside the directory) and their sizes.
    public var outputs: [String: Int]
    /// Tokens in the train shards.
    public var trainTokens: Int
    /// Tokens in the val shards.
    public var valTokens: Int
    /// Documents read.
    public var documents: Int
    /// Documents in the val split.
    public var valDocuments: Int
    /// The tokenizer's vocabulary size (embedding rows the model needs).
    public var vocabularySize: Int
    /// Whether shards hold uint32 tokens (version 2) instead of uint16 (version 1).
    public var wideTokens: Bool
    /// Bad JSON lines skipped (`--skip-bad-lines`); nil when none.
    public var skippedLines: Int? = nil

    /// Whether every output still exists with its recorded size in `directory`.
    public func outputsIntact(in directory: String) -> Bool {
        outputs.allSatisfy { name, bytes in Fingerprint(path: directory + "/" + name).bytes == bytes }
    }
}
