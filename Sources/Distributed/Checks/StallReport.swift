import Foundation

/// Why a rank's collective is not completing: which ranks never arrived at it and which issued
/// something else in its place, worked out from every rank's heartbeat (`HeartbeatFile`).
///
/// - not arrived: the rank's last collective is older than the stalled one (it is still computing,
///   stuck, dead, or never started).
/// - diverged: the rank issued a different collective under the same sequence number (or has moved
///   past it without a matching record): the ranks' collective sequences no longer agree, e.g. one
///   rank skipped a collective.
/// When neither applies, every rank has entered the collective and the transport itself is stuck.
public struct StallReport: Error, Sendable, CustomStringConvertible {
    /// The rank that noticed.
    public var rank: Int
    /// The collective it is stuck in.
    public var stalled: CollectiveRecord
    /// Seconds it has waited.
    public var waitedSeconds: Double
    /// Ranks that have not issued the stalled collective yet.
    public var notArrived: [Int]
    /// Ranks that issued something else as the stalled collective's sequence number.
    public var diverged: [Int]
    /// One clause per rank that is behind or diverged, e.g. "rank 1 has not arrived (last: #56 …)".
    public var details: [String]

    /// Compares every rank's heartbeat (`heartbeats[r]`, oldest record first, nil where there is none)
    /// with the stalled collective. `now` is the wall clock (seconds since 1970) used for "… s ago".
    /// `trouble[r]` says what is wrong with rank r's process when this host can see it (stopped,
    /// exited): such a rank is named first, whatever its heartbeat says, since a rank stopped inside
    /// the collective has "entered" it too.
    public static func diagnose(rank: Int, stalled: CollectiveRecord, waitedSeconds: Double,
                                heartbeats: [[CollectiveRecord]?], trouble: [Int: String] = [:],
                                now: Double = Date().timeIntervalSince1970) -> StallReport {
        var report = StallReport(rank: rank, stalled: stalled, waitedSeconds: waitedSeconds, notArrived: [], diverged: [], details: [])
        for (other, what) in trouble.sorted(by: { $0.key < $1.key }) where other != rank {
            report.notArrived.append(other)
            report.details.append("rank \(other) \(what)")
        }
        for (other, records) in heartbeats.enumerated() where other != rank && trouble[other] == nil {
            guard let records else {
                report.notArrived.append(other)
                report.details.append("rank \(other) has no heartbeat (it never started, or cannot write the run directory)")
                continue
            }
            guard let latest = records.last, latest.sequence >= stalled.sequence else {
                report.notArrived.append(other)
                let last = records.last.map { "its last collective was \($0.summary), \(ago($0.wallTime, now)) ago" }
                    ?? "it has issued no collective yet"
                report.details.append("rank \(other) has not arrived (\(last))")
                continue
            }
            if let same = records.first(where: { $0.sequence == stalled.sequence }) {
                if !same.matches(stalled) {
                    report.diverged.append(other)
                    report.details.append("rank \(other) issued \(same.summary) instead")
                }
            } else {
                report.diverged.append(other)
                report.details.append("rank \(other) is far ahead, at \(latest.summary)")
            }
        }
        return report
    }

    /// One line: the stalled collective, who is missing or diverged, and what that means.
    public var message: String {
        var text = "collective \(stalled.summary) has not completed on rank \(rank) after "
            + String(format: "%.1f s", waitedSeconds)
        if details.isEmpty {
            text += "; every rank has entered it, so the transport itself is stuck (a dead peer or a network fault)"
        } else {
            text += ": " + details.joined(separator: "; ")
            if !diverged.isEmpty { text += " (the ranks no longer issue the same collectives in the same order)" }
        }
        return text
    }

    /// `message`.
    public var description: String { message }

    /// The ranks the report blames: not arrived first, then diverged.
    public var blamed: [Int] { notArrived + diverged }

    private static func ago(_ wall: Double, _ now: Double) -> String {
        String(format: "%.1f s", max(0, now - wall))
    }
}
