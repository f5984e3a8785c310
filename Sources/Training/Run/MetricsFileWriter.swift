import Foundation
import Plot

/// Writes one rank's training events as metrics files: `rank-NNNNN.jsonl`, one `MetricsRecord` per
/// line (step, eval and checkpoint records; see there for the keys), and its CSV twin
/// `rank-NNNNN.csv` (the step and eval numbers, one row per record, header first).
///
/// A number that is not finite is written as null (JSON) or empty (CSV). Events other than steps,
/// evals and checkpoints write nothing. Used by `pretrain train` for `<run_dir>/metrics/`; read back
/// by `pretrain plot`.
public final class MetricsFileWriter {
    /// The rank whose files these are.
    public let rank: Int
    private let jsonl: FileHandle?
    private let csv: FileHandle?

    /// Creates `directory` and this rank's files in it. `appending` (a resumed run) adds to the files
    /// of the run it continues, so the steps before the checkpoint keep their records (a step logged
    /// again after the checkpoint supersedes the earlier record: `pretrain plot` keeps the last one); a
    /// new run starts them afresh. One-line errors (exit status 2) naming logging.run_dir.
    public init(directory: String, rank: Int, appending: Bool = false) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError("cannot create \(directory): \(error.localizedDescription); check logging.run_dir", exitCode: 2)
        }
        let base = directory + String(format: "/rank-%05d", rank)
        let keepJSON = appending && fm.fileExists(atPath: base + ".jsonl")
        let keepCSV = appending && fm.fileExists(atPath: base + ".csv")
        guard keepJSON || fm.createFile(atPath: base + ".jsonl", contents: nil),
              keepCSV || fm.createFile(atPath: base + ".csv", contents: Data((MetricsRecord.csvHeader + "\n").utf8)) else {
            throw TrainingError("cannot write \(base).jsonl; check that logging.run_dir is writable", exitCode: 2)
        }
        self.rank = rank
        jsonl = FileHandle(forWritingAtPath: base + ".jsonl")
        csv = FileHandle(forWritingAtPath: base + ".csv")
        jsonl?.seekToEndOfFile()
        csv?.seekToEndOfFile()
    }

    /// Records `event`, `elapsed` seconds into the run (steps and evals).
    public func write(_ event: TrainingEvent, elapsed: Double) {
        switch event {
        case let .step(m):
            var record = MetricsRecord(kind: .step)
            (record.rank, record.step, record.gradSyncBytes, record.skipped, record.elapsedS) = (rank, m.step, m.gradientSyncBytes, m.skipped, elapsed)
            (record.loss, record.lr, record.gradNorm, record.tokensPerSecond, record.mfu) = (Double(m.loss), Double(m.lr), m.gradNorm, m.tokensPerSecond, m.mfu)
            (record.stepMs, record.computeMs, record.commMs, record.exposedCommMs, record.gradSyncMs) =
                (m.stepSeconds * 1000, m.computeSeconds * 1000, m.commSeconds * 1000, m.exposedCommSeconds * 1000, m.gradientSyncSeconds * 1000)
            write(record, csv: true)
        case let .eval(e):
            var record = MetricsRecord(kind: .eval)
            (record.rank, record.step, record.valLoss, record.valPerplexity, record.elapsedS) = (rank, e.step, Double(e.loss), e.perplexity, elapsed)
            write(record, csv: true)
        case let .checkpoint(c):
            var record = MetricsRecord(kind: .checkpoint)
            (record.checkpoint, record.step, record.path, record.storedBytes, record.rawBytes) = ("\(c.kind)", c.step, c.path, c.storedBytes, c.rawBytes)
            (record.stallMs, record.writeMs, record.commitMs) = (c.stallSeconds * 1000, c.writeSeconds * 1000, c.commitSeconds * 1000)
            write(record)
        case .started, .warning, .finished:
            break
        }
    }

    /// Appends `record` to the JSON lines file and, with `csv`, its row to the CSV twin.
    public func write(_ record: MetricsRecord, csv: Bool = false) {
        // Every field is a plain number, string or null, which JSONEncoder always encodes.
        if let json = try? record.jsonLine() { jsonl?.write(Data((json + "\n").utf8)) }
        if csv { self.csv?.write(Data((record.csvRow + "\n").utf8)) }
    }
}
