import Foundation

/// How long a run will take, measured on its first steps: the mean time of the steps after the first
/// (which warms caches and allocates) times the steps left.
///
/// Fed every step's time, it answers once, when `measuredSteps` steps after the first are in: the
/// line rank 0 prints, and a warning when the whole run would take over `warnAfterSeconds`.
public struct RunTimeEstimate: Sendable {
    /// The estimate, once measured.
    public struct Result: Sendable, Equatable {
        /// Mean seconds per optimizer step over the measured steps.
        public var secondsPerStep: Double
        /// Steps the run still has to train after the measured ones.
        public var stepsLeft: Int
        /// Steps of the whole run.
        public var totalSteps: Int
        /// The line to print, e.g. "estimate: 0.142 s/step (steps 2-4), 300 steps ≈ 43s (about 40s left)".
        public var line: String
        /// Set when the run would take longer than the limit: what to change.
        public var warning: String?
    }

    let totalSteps: Int
    let measuredSteps: Int
    let warnAfterSeconds: Double
    private var first: Int?
    private var seconds: [Double] = []
    private var done = false

    public init(totalSteps: Int, measuredSteps: Int = 3, warnAfterSeconds: Double = 3600) {
        self.totalSteps = totalSteps
        self.measuredSteps = max(1, measuredSteps)
        self.warnAfterSeconds = warnAfterSeconds
    }

    /// Records that step `step` took `stepSeconds`; returns the estimate at the step that completes
    /// the measurement (nil before and after, and when the run ends first).
    public mutating func record(step: Int, stepSeconds: Double) -> Result? {
        guard !done else { return nil }
        guard let first else { self.first = step; return nil }  // the warm-up step is not measured
        seconds.append(stepSeconds)
        guard seconds.count == measuredSteps, step < totalSteps else {
            if step >= totalSteps { done = true }
            return nil
        }
        done = true
        let perStep = seconds.reduce(0, +) / Double(seconds.count)
        let left = totalSteps - step
        let whole = perStep * Double(totalSteps)
        let line = "estimate: \(Self.format(perStep)) s/step (steps \(first + 1)-\(step)), \(totalSteps) steps ≈ \(Self.duration(whole))"
            + " (about \(Self.duration(perStep * Double(left))) left)"
        let warning = whole > warnAfterSeconds
            ? "this run would take about \(Self.duration(whole)) (\(totalSteps) steps × \(Self.format(perStep)) s); for a quicker one lower "
                + "training.steps, or pick a smaller model (model.preset: tiny) or training.seq_len"
            : nil
        return Result(secondsPerStep: perStep, stepsLeft: left, totalSteps: totalSteps, line: line, warning: warning)
    }

    /// About three significant digits: 0.00041, 0.142, 1.53, 27.6, 130.
    static func format(_ seconds: Double) -> String {
        if seconds >= 100 { return "\(Int(seconds.rounded()))" }
        return String(format: seconds >= 10 ? "%.1f" : seconds >= 1 ? "%.2f" : seconds >= 0.01 ? "%.3f" : "%.2g", seconds)
    }

    /// "1h32m", "4m05s", "43s".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
