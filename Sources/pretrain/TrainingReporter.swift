import Config
import Foundation
import Training

/// Turns training events into console lines (rank 0) and JSON-lines metrics (every rank).
///
/// Each step record holds: rank, step, loss, lr, grad_norm, tokens_per_s, mfu, step_ms, compute_ms,
/// comm_ms (transport busy time), exposed_comm_ms (what the step waited for), grad_sync_ms and
/// grad_sync_bytes (the gradient synchronisation alone), skipped.
final class TrainingReporter {
    let config: RunConfig
    let rank: Int
    let interval: Int
    let quiet: Bool
    private var metrics: FileHandle?
    private var totalSteps: Int { config.training.steps }

    init(config: RunConfig, rank: Int, interval: Int, quiet: Bool) {
        self.config = config
        self.rank = rank
        self.interval = max(1, interval)
        self.quiet = quiet
    }

    /// Creates the run directory and this rank's metrics file.
    func open() throws {
        let dir = config.logging.runDir + "/metrics"
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + String(format: "/rank-%05d.jsonl", rank)
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            metrics = FileHandle(forWritingAtPath: path)
        } catch {
            throw CLIError("cannot create \(dir): \(error.localizedDescription); check logging.run_dir")
        }
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case let .started(info):
            guard rank == 0 else { return }
            if !quiet {
                print("# resolved config\n" + info.resolvedConfig, terminator: "")
                print("training: \(info.worldSize) rank(s) × \(info.threads) thread(s) [\(info.backend)], \(info.parameters) parameters, "
                      + "\(info.accumulationSteps) micro-batch(es) per rank per step, \(info.tokensPerStep) tokens per step, "
                      + "\(info.trainSequences) training sequences per epoch")
            }
        case let .step(m):
            write(String(format: "{\"rank\":%d,\"step\":%d,\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens_per_s\":%.1f,\"mfu\":%.4f,\"step_ms\":%.3f,\"compute_ms\":%.3f,\"comm_ms\":%.3f,\"exposed_comm_ms\":%.3f,\"grad_sync_ms\":%.3f,\"grad_sync_bytes\":%d,\"skipped\":%@}",
                         rank, m.step, m.loss, m.lr, m.gradNorm, m.tokensPerSecond, m.mfu, m.stepSeconds * 1000, m.computeSeconds * 1000,
                         m.commSeconds * 1000, m.exposedCommSeconds * 1000, m.gradientSyncSeconds * 1000, m.gradientSyncBytes,
                         m.skipped ? "true" : "false"))
            guard rank == 0, !quiet, m.step % interval == 0 || m.step == totalSteps || m.step == 1 else { return }
            let exposedShare = m.stepSeconds > 0 ? m.exposedCommSeconds / m.stepSeconds * 100 : 0
            print(String(format: "step %5d/%d | loss %.4f | lr %.2e | grad %.3f | %8.0f tok/s | MFU %4.1f%% | comm %.1f ms, exposed %.1f ms (%.1f%%)",
                         m.step, totalSteps, m.loss, m.lr, m.gradNorm, m.tokensPerSecond, m.mfu * 100,
                         m.commSeconds * 1000, m.exposedCommSeconds * 1000, exposedShare))
        case let .eval(e):
            write(String(format: "{\"step\":%d,\"val_loss\":%.6f,\"val_perplexity\":%.4f}", e.step, e.loss, e.perplexity))
            if rank == 0, !quiet { print(String(format: "eval  %5d | val loss %.4f | perplexity %.2f", e.step, e.loss, e.perplexity)) }
        case let .warning(text):
            if rank == 0 { FileHandle.standardError.write(Data("warning: \(text)\n".utf8)) }
        case let .checkpoint(c):
            write(String(format: "{\"checkpoint\":\"%@\",\"step\":%d,\"path\":\"%@\",\"stored_bytes\":%d,\"raw_bytes\":%d,\"stall_ms\":%.3f,\"write_ms\":%.3f,\"commit_ms\":%.3f}",
                         "\(c.kind)", c.step, c.path, c.storedBytes, c.rawBytes, c.stallSeconds * 1000, c.writeSeconds * 1000, c.commitSeconds * 1000))
            guard rank == 0 else { return }
            switch c.kind {
            case .saved:
                let ratio = c.storedBytes > 0 ? Double(c.rawBytes) / Double(c.storedBytes) : 0
                if !quiet { print(String(format: "checkpoint: saved %@ (%.1f MB, ratio %.3f; stall %.1f ms, write %.2f s, commit %.1f ms)",
                                         c.path, Double(c.storedBytes) / 1e6, ratio, c.stallSeconds * 1000, c.writeSeconds, c.commitSeconds * 1000)) }
            case .resumed:
                if !quiet { print("checkpoint: resumed from \(c.path) at step \(c.step) (saved by \(c.worldSize) rank(s))") }
            case .fresh:
                if !quiet { print("checkpoint: \(c.message)") }
            case .skipped:
                FileHandle.standardError.write(Data("warning: \(c.message)\n".utf8))
            case .preempted:
                FileHandle.standardError.write(Data("preempted: checkpoint saved at step \(c.step) in \(c.path); exiting with status \(PreemptionFlag.exitStatus) so that the job is requeued (resume with --resume auto)\n".utf8))
            }
        case let .finished(s):
            if rank == 0 {
                let val = s.finalValLoss.map { String(format: ", val loss %.4f", $0) } ?? ""
                print(String(format: "done: %d steps in %.1f s, final loss %.4f%@", s.steps, s.seconds, s.finalLoss, val))
            }
        }
    }

    private func write(_ line: String) {
        metrics?.write(Data((line + "\n").utf8))
    }
}
