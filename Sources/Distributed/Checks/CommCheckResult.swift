import Foundation

/// The outcome of one check of `CommSelfTest`, agreed on by every rank.
public struct CommCheckResult: Sendable {
    /// What was checked, e.g. "allreduce float32 sum n=7".
    public let name: String
    /// Whether the check passed on every rank.
    public let passed: Bool
    /// The ranks on which it failed (empty when it passed).
    public let failedRanks: [Int]
    /// This rank's failure explanation (first wrong element, or the error), nil when it passed here.
    public let localDetail: String?
    /// Extra information worth printing even on success (e.g. the text of an expected error).
    public let note: String?
    /// A digest of the results of all ranks, for checks whose results are bitwise deterministic
    /// (nil otherwise): equal digests from two backends mean bit-identical results.
    public let digest: UInt64?
    /// Seconds the check took on the slowest rank (communication plus local filling and checking).
    public let seconds: Double

    /// One printable line: status, name, digest, time and note.
    public var line: String {
        let status = passed ? "PASS" : "FAIL"
        let digestText = digest.map { String($0, radix: 16).leftPadded(to: 16, with: "0") } ?? "-".padded(to: 16)
        let time = String(format: "%8.1f ms", seconds * 1000)
        var text = "\(status)  \(name.padded(to: 56))  digest=\(digestText)  \(time)"
        if !failedRanks.isEmpty { text += "  failed on ranks \(failedRanks)" }
        if let note { text += "  (\(note))" }
        return text
    }
}

extension String {
    /// The string followed by spaces up to `width` characters.
    func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// The string preceded by `pad` up to `width` characters.
    func leftPadded(to width: Int, with pad: Character) -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
