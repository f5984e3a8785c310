import Checkpoint
import Config
import DataPipeline
import Distributed
import Foundation
import Model

/// Checkpoints of a run: periodic asynchronous saves, the save at the end, preemption, and resuming
/// on any number of ranks. Format and layout: README, "Checkpoints".
///
/// **What is saved.** Rank r of N writes one shard: its even range r of the parameters, and the AdamW
/// moments it holds (its ZeRO-1 pieces, or the same even range when every rank holds all moments).
/// Rank 0 also records the AdamW step counter, the run step, the consecutive-bad-step counter, every
/// rank's data-loader position and the resolved config. Dropout masks are a function of (seed, step,
/// micro-batch, rank), so the step is the whole random state.
///
/// **When.** Every `checkpoint.every` steps (asynchronously), at the end of `run()`, and after a
/// preemption signal (synchronously). At each step boundary the ranks allreduce (max) two flags:
/// "a preemption signal arrived" and "my shard is still being written"; a pending save is committed
/// at the first boundary where every rank has finished writing, and a new save first commits the
/// previous one. The commit (gather of sizes and checksums, manifest, rename, `latest`, retention on
/// rank 0, then a status broadcast) always runs on the training thread.
///
/// **Resuming on M ranks a checkpoint of N.** Each rank reads its even range (of M) of the
/// parameters and the moments it holds from whichever shards overlap them, then the parameter ranges
/// are all-gathered. The data position is a position in the one global stream of sequences (the
/// same on every rank), so the run continues with the first sequence no rank has read; with the same
/// global batch the M-rank run reads exactly the batches the N-rank run would have.
extension Trainer {
    /// The checkpoint root: `checkpoint.dir`, or `<logging.run_dir>/checkpoints` when that is empty.
    public var checkpointRoot: String { Self.checkpointRoot(config) }

    /// The checkpoint root a config names, before any trainer exists.
    public static func checkpointRoot(_ config: RunConfig) -> String {
        config.checkpoint.dir.isEmpty ? config.logging.runDir + "/checkpoints" : config.checkpoint.dir
    }

    /// The checkpoint session, created on first use.
    func session() throws -> CheckpointSession {
        if let checkpointSession { return checkpointSession }
        guard let method = ChunkCodec.Method(rawValue: config.checkpoint.compression) else {
            throw TrainingError("checkpoint.compression '\(config.checkpoint.compression)' is not zstd or none")
        }
        do {
            let s = try CheckpointSession(root: checkpointRoot, method: method, level: config.checkpoint.level, threads: config.checkpoint.threads)
            checkpointSession = s
            // Allocate (and touch) the staging buffer now, at start-up (`Trainer.init`), so that no save
            // pays for the page faults of a fresh buffer (measured: 4 s for bench-m's 750 MB per rank).
            let mine = CheckpointPlan.segments(rank: comm.rank, worldSize: comm.size, count: model.layout.count,
                                               moments: momentRanges(rank: comm.rank, ranks: comm.size))
            _ = try s.stagingBuffer(count: mine.reduce(0) { $0 + $1.count })
            return s
        } catch let e as CheckpointError { throw TrainingError(e.message) }
    }

    /// The moment ranges rank `rank` holds (and saves) among `ranks`: its ZeRO-1 pieces, or its even range.
    func momentRanges(rank: Int, ranks: Int) -> [Range<Int>] {
        let count = model.layout.count
        if zero != nil {
            let bucket = max(1, Int(config.training.bucketMB * 1_048_576) / MemoryLayout<Float>.stride)
            let (chunks, counts) = ZeroShards.layout(count: count, ranks: ranks, chunkElements: bucket)
            return zip(chunks, counts).map { chunk, counts in
                let start = chunk.lowerBound + counts[0..<rank].reduce(0, +)
                return start..<(start + counts[rank])
            }.filter { !$0.isEmpty }
        }
        return [CheckpointPlan.evenRange(count: count, parts: ranks, index: rank)]
    }

    /// The moments (`m` or `v`) at flat position `start`: the optimizer whose shard holds it.
    func momentPointer(_ buffer: CheckpointManifest.Buffer, at start: Int) -> UnsafeMutablePointer<Float> {
        let opt = optimizers.first { $0.shard.contains(start) }!
        return (buffer == .m ? opt.m.pointer : opt.v.pointer) + (start - opt.shard.lowerBound)
    }

    // MARK: - Saving

    /// Starts saving the current state: commits any pending save, stages this rank's ranges, and hands
    /// the shard to the background writer. Collective.
    func beginSave() throws {
        let session = try self.session()
        try commitPendingSave()
        let start = DispatchTime.now().uptimeNanoseconds
        let world = comm.size, rank = comm.rank, count = model.layout.count
        let segments = CheckpointPlan.segments(rank: rank, worldSize: world, count: count, moments: momentRanges(rank: rank, ranks: world))
        let total = segments.reduce(0) { $0 + $1.count }
        let staging = try session.stagingBuffer(count: total)
        var at = 0
        for s in segments {
            let source = s.buffer == .params ? model.params.pointer + s.start : momentPointer(s.buffer, at: s.start)
            (staging.pointer + at).update(from: source, count: s.count)
            at += s.count
        }
        // Every rank's data position, gathered (they are equal by construction; all are recorded).
        let p = train.position
        var mine = [p.epoch, p.shard, p.sample, p.sequencesRead]
        var all = mine
        if world > 1 {
            all = try comm.allgatherv(mine, counts: Array(repeating: 4, count: world))
        }
        mine = []
        let positions: [DataLoaderPosition] = (0..<world).map { r in
            var q = p
            q.epoch = all[4 * r]; q.shard = all[4 * r + 1]; q.sample = all[4 * r + 2]; q.sequencesRead = all[4 * r + 3]
            return q
        }
        let method = session.codec.method
        let shards = (0..<world).map { r in
            CheckpointManifest.Shard(file: CheckpointPlan.shardFileName(rank: r, worldSize: world, method: method), rank: r,
                                     segments: CheckpointPlan.segments(rank: r, worldSize: world, count: count, moments: momentRanges(rank: r, ranks: world)),
                                     rawBytes: 0, storedBytes: 0, checksum: "")
        }
        let tokenizer = config.data.tokenizer
        let hasTokenizer = !tokenizer.isEmpty && FileManager.default.fileExists(atPath: tokenizer)
        let tokenizerHash = hasTokenizer ? (try? LocalCheckpoint.tokenizerHash(tokenizer)) : nil
        let manifest = CheckpointManifest(
            step: step, tokensSeen: p.sequencesRead * config.training.seqLen, worldSize: world, zero1: zero != nil,
            hasOptimizerState: true, optimizerStep: optimizers[0].t, badSteps: badSteps, config: ConfigLoader.render(config),
            tokenizerHash: tokenizerHash, compression: method,
            level: session.codec.level, shuffle: session.codec.shuffle, chunkElements: session.codec.chunkElements,
            layout: model.layout, shards: shards, dataPositions: positions, created: LocalCheckpoint.timestamp())
        do { try session.store.prepareStaging(step: step) } catch let e as CheckpointError { throw TrainingError(e.message) }
        let file = shards[rank].file
        let stall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        session.startWrite(CheckpointSession.Pending(step: step, manifest: manifest, file: file, stallSeconds: stall),
                           count: total, path: session.store.stagingDirectory(step: step) + "/" + file)
        timeline?.record(.checkpointWrite, start: start)
    }

    /// Waits for this rank's shard, then commits the pending save with the other ranks. Collective
    /// when a save is pending (every rank has one, or none).
    func commitPendingSave() throws {
        guard let session = checkpointSession, let pending = session.pending else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = session.waitForWrite()
        session.pending = nil
        let world = comm.size
        var mine: [Int]
        switch result {
        case let .success(r): mine = [0, r.storedBytes, Int(bitPattern: UInt(r.checksum)), 0]
        case .failure: mine = [1, 0, 0, 0]
        }
        let all = world > 1 ? try comm.allgatherv(mine, counts: Array(repeating: 4, count: world)) : mine
        let store = session.store
        let previous = store.complete().last.map { "; the previous checkpoint \($0.path) is intact" } ?? ""
        if let failed = (0..<world).first(where: { all[4 * $0] != 0 }) {
            if comm.rank == 0 { store.abandon(step: pending.step) }
            if case let .failure(error) = result {
                let text = (error as? CheckpointError)?.message ?? "\(error)"
                throw TrainingError("checkpoint step \(pending.step) was not saved: \(text)\(previous)")
            }
            throw TrainingError("checkpoint step \(pending.step) was not saved: rank \(failed) could not write its shard (its own message says why)\(previous)")
        }
        var manifest = pending.manifest
        for r in 0..<world {
            manifest.shards[r].storedBytes = all[4 * r + 1]
            manifest.shards[r].checksum = CheckpointManifest.checksumString(UInt64(UInt(bitPattern: all[4 * r + 2])))
            manifest.shards[r].rawBytes = manifest.shards[r].segments.reduce(0) { $0 + $1.count } * 4
        }
        var status = [0]
        var failure = ""
        if comm.rank == 0 {
            let tokenizer = config.data.tokenizer
            do {
                _ = try store.commit(manifest, tokenizer: manifest.tokenizerHash == nil ? nil : tokenizer, keepLast: config.checkpoint.keepLast)
            } catch let e as CheckpointError {
                status[0] = 1
                failure = e.message
                store.abandon(step: pending.step)
            }
        }
        if world > 1 { try status.withUnsafeMutableBufferPointer { try comm.broadcast($0, root: 0) } }
        if status[0] != 0 {
            throw TrainingError(comm.rank == 0 ? failure : "checkpoint step \(pending.step) was not saved: rank 0 could not commit it (its message says why)\(previous)")
        }
        session.lastSaved = pending.step
        var report = CheckpointReport(kind: .saved, step: pending.step, path: store.directory(step: pending.step))
        report.storedBytes = manifest.storedBytes
        report.rawBytes = manifest.rawBytes
        report.stallSeconds = pending.stallSeconds
        if case let .success(r) = result { report.writeSeconds = r.seconds }
        report.commitSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        report.worldSize = world
        timeline?.record(.checkpointCommit, start: start)
        emit(.checkpoint(report))
    }

    /// The step-boundary work of checkpointing: agree on preemption and on finished writes, commit,
    /// start a periodic save. Returns the signal the ranks agreed on when the run must stop (its
    /// checkpoint saved), else 0.
    func checkpointBoundary() throws -> Int32 {
        guard options.checkpoints || checkpointSession != nil else { return 0 }
        let session = try self.session()
        var flags = [PreemptionFlag.urgency, session.isWriting ? 1 : 0]
        if comm.size > 1 { try flags.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .max) } }
        if session.pending != nil, flags[1] == 0 { try commitPendingSave() }
        if flags[0] != 0 {
            try commitPendingSave()
            if session.lastSaved != step {
                try beginSave()
                try commitPendingSave()
            }
            var report = CheckpointReport(kind: .preempted, step: step, path: checkpointRoot)
            report.signal = PreemptionFlag.agreed(urgency: flags[0])
            if comm.rank == 0, !PreemptionFlag.isInterrupt(report.signal) {
                // For job scripts whose mpirun cannot pass status 75 on (its own SIGTERM is an abort).
                let story = PreemptionFlag.story(signal: report.signal, step: step, path: checkpointRoot, resume: "--resume auto")
                do { try PreemptionFlag.writeMarker(runDir: config.logging.runDir, step: step, story: story) } catch {
                    emit(.warning("cannot write \(PreemptionFlag.markerPath(runDir: config.logging.runDir)): \(error)"))
                }
            }
            emit(.checkpoint(report))
            return report.signal
        }
        let every = config.checkpoint.every
        if every > 0, step % every == 0, step < config.training.steps { try beginSave() }
        return 0
    }

    /// The end of `run()`: commits the pending save and saves the final state unless it is saved.
    func finishCheckpoints() throws {
        guard options.checkpoints else { return }
        let session = try self.session()
        try commitPendingSave()
        if session.lastSaved != step {
            try beginSave()
            try commitPendingSave()
        }
    }

    // MARK: - Resuming

    /// Continues from a checkpoint: `"auto"` (the newest complete one in `checkpointRoot` that loads;
    /// corrupt or incomplete ones are skipped with a report; none at all means a fresh start) or a
    /// path (a `step-N` directory or a root). Collective. Returns the step resumed at, or nil.
    @discardableResult
    public func resume(from spec: String) throws -> Int? {
        var candidates: [String]
        let auto = spec == "auto"
        if auto {
            candidates = CheckpointStore(root: checkpointRoot).complete().reversed().map(\.path)
            if candidates.isEmpty {
                var report = CheckpointReport(kind: .fresh, step: 0, path: checkpointRoot)
                report.message = "no complete checkpoint in \(checkpointRoot); starting from step 0"
                emit(.checkpoint(report))
                return nil
            }
        } else {
            candidates = [spec]
        }
        var lastError = ""
        for path in candidates {
            var manifest: CheckpointManifest?
            var failure: String?
            var sendBlock: [Float] = []
            do {
                let reader = try CheckpointReader(path: path)
                try ModelCheckpoint.checkFamily(reader, matches: config)
                try reader.manifest.checkMatches(model.layout, directory: reader.directory)
                manifest = reader.manifest
                let mine = CheckpointPlan.evenRange(count: model.layout.count, parts: comm.size, index: comm.rank)
                var requests = [CheckpointReader.Request(buffer: .params, range: mine, destination: model.params.pointer + mine.lowerBound)]
                if reader.manifest.hasOptimizerState {
                    for opt in optimizers where !opt.shard.isEmpty {
                        requests.append(.init(buffer: .m, range: opt.shard, destination: opt.m.pointer))
                        requests.append(.init(buffer: .v, range: opt.shard, destination: opt.v.pointer))
                    }
                }
                try reader.read(requests)
                sendBlock = Array(model.params[mine])
            } catch let e as CheckpointError {
                failure = e.message
            }
            var flag = [failure == nil ? 0 : 1]
            if comm.size > 1 { try flag.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .max) } }
            if flag[0] == 0, let manifest {
                if comm.size > 1 {
                    let counts = (0..<comm.size).map { CheckpointPlan.evenRange(count: model.layout.count, parts: comm.size, index: $0).count }
                    try sendBlock.withUnsafeBufferPointer { try comm.allgatherv($0, into: model.params.buffer, counts: counts) }
                }
                if !manifest.hasOptimizerState {
                    for opt in optimizers { opt.m.zero(); opt.v.zero() }
                }
                for opt in optimizers { opt.setStep(manifest.hasOptimizerState ? manifest.optimizerStep : 0) }
                model.bf16?.refreshWeights()
                step = manifest.step
                badSteps = manifest.badSteps
                if let position = manifest.dataPositions.first {
                    do { try train.restore(position) } catch {
                        throw TrainingError("cannot continue the data of \(path): \(error); resume with the data settings the checkpoint was saved with")
                    }
                }
                // The session (and its staging buffer, allocated at start-up) stays: nothing is pending yet.
                let session = try self.session()
                session.pending = nil
                session.lastSaved = manifest.step
                var report = CheckpointReport(kind: .resumed, step: manifest.step, path: path)
                report.worldSize = manifest.worldSize
                report.storedBytes = manifest.storedBytes
                report.rawBytes = manifest.rawBytes
                emit(.checkpoint(report))
                return manifest.step
            }
            lastError = failure ?? "another rank could not load it"
            guard auto else { throw TrainingError(failure ?? "\(path) could not be loaded on every rank (another rank's message says why)") }
            var report = CheckpointReport(kind: .skipped, step: manifest?.step ?? 0, path: path)
            report.message = "skipping \(path): \(lastError)"
            emit(.checkpoint(report))
        }
        throw TrainingError("no checkpoint in \(checkpointRoot) could be loaded (newest problem: \(lastError)); remove the damaged ones or resume from a path")
    }
}

extension Trainer {
    /// Reports an event.
    func emit(_ event: TrainingEvent) { events(event) }
}
