import Foundation

extension MetricsRecord {
    /// The digits each number is written with (printf formats), in the JSON line and the CSV twin.
    static let formats: [CodingKeys: String] = [
        .loss: "%.6f", .lr: "%.6g", .gradNorm: "%.6g", .tokensPerSecond: "%.1f", .mfu: "%.4f",
        .stepMs: "%.3f", .computeMs: "%.3f", .commMs: "%.3f", .exposedCommMs: "%.3f", .gradSyncMs: "%.3f",
        .valLoss: "%.6f", .valPerplexity: "%.4f", .valAccuracy: "%.6f", .valBaselineAccuracy: "%.6f", .elapsedS: "%.3f", .stallMs: "%.3f", .writeMs: "%.3f", .commitMs: "%.3f",
    ]

    /// The CSV twin's columns: the step and eval records' keys (checkpoint records have no CSV row).
    static let csvKeys: [CodingKeys] = [.rank, .step, .loss, .lr, .gradNorm, .tokensPerSecond, .mfu, .stepMs, .computeMs, .commMs,
                                        .exposedCommMs, .gradSyncMs, .gradSyncBytes, .skipped, .valLoss, .valPerplexity, .elapsedS]

    /// The CSV header line (no newline).
    public static var csvHeader: String { csvKeys.map(\.stringValue).joined(separator: ",") }

    /// `value` as printed with `format` and read back (so a file holds the digits that matter), or
    /// nil (null) when it is not finite.
    public static func number(_ value: Double, _ format: String) -> Double? {
        value.isFinite ? Double(String(format: format, value)) : nil
    }

    /// The record with every number cut to the digits its key is written with, and nil where a
    /// number is not finite.
    public func rounded() -> MetricsRecord {
        var r = self
        for (key, format) in Self.formats {
            let path = Self.doublePaths[key]!
            r[keyPath: path] = r[keyPath: path].flatMap { Self.number($0, format) }
        }
        return r
    }

    /// The record's CSV row (no newline): its numbers as `rounded()` writes them, empty cells for the
    /// keys it does not have.
    public var csvRow: String {
        let r = rounded()
        return Self.csvKeys.map { key -> String in
            if let path = Self.doublePaths[key] { return r[keyPath: path].map { String(format: Self.formats[key]!, $0) } ?? "" }
            switch key {
            case .rank: return r.rank.map(String.init) ?? ""
            case .step: return r.step.map(String.init) ?? ""
            case .gradSyncBytes: return r.gradSyncBytes.map(String.init) ?? ""
            case .skipped: return r.skipped.map { $0 ? "true" : "false" } ?? ""
            default: return ""
            }
        }.joined(separator: ",")
    }

    private static let doublePaths: [CodingKeys: WritableKeyPath<MetricsRecord, Double?>] = [
        .loss: \.loss, .lr: \.lr, .gradNorm: \.gradNorm, .tokensPerSecond: \.tokensPerSecond, .mfu: \.mfu,
        .stepMs: \.stepMs, .computeMs: \.computeMs, .commMs: \.commMs, .exposedCommMs: \.exposedCommMs, .gradSyncMs: \.gradSyncMs,
        .valLoss: \.valLoss, .valPerplexity: \.valPerplexity, .valAccuracy: \.valAccuracy, .valBaselineAccuracy: \.valBaselineAccuracy, .elapsedS: \.elapsedS, .stallMs: \.stallMs, .writeMs: \.writeMs, .commitMs: \.commitMs,
    ]
}
