import Checkpoint
import Foundation
import Model

/// One rank's side of asynchronous checkpoint saves: the staging buffer, the background writer and
/// the save waiting for its collective commit.
///
/// A save copies this rank's ranges into `staging` on the training thread (the only stall), then a
/// serial background queue compresses, writes and fsyncs the shard. The background queue never
/// touches the communicator: every collective (gathering shard sizes and checksums, the commit on
/// rank 0, the status broadcast) runs on the training thread at a step boundary, so it is ordered
/// with the step's own collectives identically on every rank and cannot deadlock with the
/// communication thread.
final class CheckpointSession {
    /// A save whose shard is being (or has been) written and that is not committed yet.
    struct Pending {
        var step: Int
        var manifest: CheckpointManifest
        var file: String
        var stallSeconds: Double
        let group = DispatchGroup()
    }

    /// Set by the background writer; read after `group.wait()`.
    final class Outcome: @unchecked Sendable {
        var result: Result<CheckpointShardWriter.Result, Error>?
    }

    let store: CheckpointStore
    let codec: ChunkCodec
    let queue = DispatchQueue(label: "pretrain.checkpoint-writer")
    var staging: FlatBuffer?
    var pending: Pending?
    var outcome = Outcome()
    /// The step of the newest checkpoint committed (or resumed from) by this run.
    var lastSaved: Int?

    init(root: String, method: ChunkCodec.Method, level: Int, threads: Int) throws {
        store = CheckpointStore(root: root)
        codec = try ChunkCodec(method: method, level: level, shuffle: method == .zstd, chunkElements: 1 << 20, threads: threads)
    }

    /// Whether a background write is still running on this rank.
    var isWriting: Bool {
        guard let pending else { return false }
        return pending.group.wait(timeout: .now()) == .timedOut
    }

    /// A staging buffer of at least `count` values (allocated once and reused).
    func stagingBuffer(count: Int) throws -> FlatBuffer {
        if let staging, staging.count >= count { return staging }
        let buffer = try FlatBuffer(count: count)
        staging = buffer
        return buffer
    }

    /// Starts the background write of `count` staged values into `path`.
    func startWrite(_ pending: Pending, count: Int, path: String) {
        let outcome = Outcome()
        self.outcome = outcome
        let staging = self.staging!
        let codec = self.codec
        pending.group.enter()
        self.pending = pending
        queue.async {
            outcome.result = Result { try CheckpointShardWriter.write(staging.pointer, count: count, to: path, codec: codec) }
            pending.group.leave()
        }
    }

    /// Waits for this rank's write and returns its result.
    func waitForWrite() -> Result<CheckpointShardWriter.Result, Error> {
        pending?.group.wait()
        return outcome.result ?? .failure(CheckpointError("no write was started"))
    }
}
