import Foundation

/// The records of a run's metrics file (`MetricsRecord` JSON lines written by `pretrain train`), read leniently: a line
/// that is not a complete JSON object (a run cut off mid-write, a file still being written) is skipped
/// and reported in `skipped`, and everything complete is kept.
///
/// A step record has `step` and `loss` (and `tokens_per_s`, `lr`, …); an eval record has `step` and
/// `val_loss`; checkpoint records (a `checkpoint` key) are passed over. A step logged twice (a run resumed from a checkpoint re-runs steps after it) keeps
/// its last record. Records come out sorted by step.
public struct MetricsLog: Sendable {
    /// One training step.
    public struct Step: Sendable, Equatable {
        public var step: Int
        public var loss: Double
        public var tokensPerSecond: Double?
        public var lr: Double?
        public var gradNorm: Double?
    }

    /// One evaluation: the validation loss and, for a classifier, its accuracy and the majority-class
    /// baseline's.
    public struct Eval: Sendable, Equatable {
        public var step: Int
        public var loss: Double
        public var accuracy: Double?
        public var baseline: Double?
        public init(step: Int, loss: Double, accuracy: Double? = nil, baseline: Double? = nil) {
            (self.step, self.loss, self.accuracy, self.baseline) = (step, loss, accuracy, baseline)
        }
    }

    /// Step records, one per step, by step.
    public var steps: [Step] = []
    /// Eval records, one per step, by step.
    public var evals: [Eval] = []
    /// Lines that were not used: (1-based line number, why).
    public var skipped: [(line: Int, reason: String)] = []

    /// An empty log.
    public init() {}

    /// Reads `path`; throws `PlotError` naming the file when it cannot be read.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlotError("cannot read \(path); pass a run directory (logging.run_dir) or its metrics/rank-00000.jsonl")
        }
        self.init(text: String(decoding: data, as: UTF8.self))
    }

    /// Parses JSON-lines text.
    public init(text: String) {
        var steps: [Int: Step] = [:], evals: [Int: Eval] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let decoder = JSONDecoder()
        for (i, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let last = i == lines.count - 1
            guard let record = try? decoder.decode(MetricsRecord.self, from: Data(trimmed.utf8)) else {
                skipped.append((i + 1, last ? "incomplete last line (the run was cut off or is still writing it)" : "not a JSON object"))
                continue
            }
            if record.kind == .checkpoint { continue }  // a checkpoint event, not a metric
            guard let step = record.step else {
                skipped.append((i + 1, "no \"step\""))
                continue
            }
            if let loss = record.loss {
                steps[step] = Step(step: step, loss: loss, tokensPerSecond: record.tokensPerSecond, lr: record.lr, gradNorm: record.gradNorm)
            } else if let loss = record.valLoss {
                evals[step] = Eval(step: step, loss: loss, accuracy: record.valAccuracy, baseline: record.valBaselineAccuracy)
            } else if record.kind != .other {
                skipped.append((i + 1, "step \(step): the loss is not a finite number"))
            } else {
                skipped.append((i + 1, "neither \"loss\" nor \"val_loss\""))
            }
        }
        self.steps = steps.values.sorted { $0.step < $1.step }
        self.evals = evals.values.sorted { $0.step < $1.step }
    }

    /// One line saying which lines were skipped, or nil when none were.
    public var skippedSummary: String? {
        guard !skipped.isEmpty else { return nil }
        let shown = skipped.prefix(3).map { "line \($0.line): \($0.reason)" }.joined(separator: "; ")
        return "skipped \(skipped.count) line(s) of the metrics file (\(shown)\(skipped.count > 3 ? "; …" : ""))"
    }
}
