import Foundation

/// Reads a job's output as it passes through and says, in one line, which rank failed and why.
///
/// It recognises the ranks' own messages (`error: …`, `rank N: …`, `error: rank N: …`) and OpenMPI's
/// reports of the first failed process (`Process name: [[job,1],N]` then `Exit code: C`, or
/// `process rank N … exited on signal S`).
public struct FailureDigest: Sendable {
    /// The first failed rank mpirun reported, if it did.
    public private(set) var failedRank: Int?
    /// That rank's exit code, if mpirun reported one.
    public private(set) var failedExitCode: Int?
    /// The signal that ended it, if mpirun reported one.
    public private(set) var failedSignal: String?
    /// `error:` lines without a rank, first ones first (rank 0 reports errors every rank shares).
    public private(set) var errors: [String] = []
    /// Messages by rank, first ones first.
    public private(set) var rankMessages: [Int: [String]] = [:]
    /// The rank that ended the job with MPI_Abort (a watchdog report, a mid-run error), if one did:
    /// its own message is the cause; what other ranks say while the job is torn down is not.
    public private(set) var abortingRank: Int?
    /// The step of the checkpoint the job saved after a preemption signal, from rank 0's
    /// `preempted by SIGTERM: checkpoint saved at step N in DIR; …` or `interrupted by SIGINT: …`
    /// (printed once the checkpoint is complete; `preempted: …` before the signal was named).
    public private(set) var preemptedStep: Int?
    /// Whether that line was an interrupt's (Ctrl-C: exit status 130) rather than a preemption's (75).
    public private(set) var interrupted = false
    /// Where that checkpoint went (the checkpoint root).
    public private(set) var preemptedPath: String?
    private var pendingProcessRank: Int?
    private static let keep = 5

    public init() {}

    /// Takes one line of output (stdout or stderr, without the newline).
    public mutating func consume(_ rawLine: String) {
        let line = rawLine.trimmingCharacters(in: .whitespaces)
        if line.hasPrefix("preempted") || line.hasPrefix("interrupted by "),
           let range = line.range(of: ": checkpoint saved at step "), !line[..<range.lowerBound].contains(":") {
            let rest = line[range.upperBound...]
            interrupted = line.hasPrefix("interrupted")
            let digits = rest.prefix { $0.isNumber }
            if let step = Int(digits) {
                preemptedStep = step
                if let path = rest.dropFirst(digits.count).strippingPrefix(" in ") {
                    preemptedPath = String(path.prefix { $0 != ";" })
                }
            }
            return
        }
        if let rest = line.strippingPrefix("Process name:"), let rank = Self.lastNumber(in: rest) {
            pendingProcessRank = rank
            return
        }
        if let rest = line.strippingPrefix("Exit code:"), let rank = pendingProcessRank {
            if failedRank == nil { failedRank = rank; failedExitCode = Int(rest.trimmingCharacters(in: .whitespaces)) }
            pendingProcessRank = nil
            return
        }
        if let rest = line.strippingPrefix("MPI_ABORT was invoked on rank ") {
            if abortingRank == nil { abortingRank = Int(rest.prefix { $0.isNumber }) }
            return
        }
        if line.hasPrefix("mpirun noticed that process rank "), failedRank == nil {
            let words = line.split(separator: " ")
            if let index = words.firstIndex(of: "rank"), index + 1 < words.count, let rank = Int(words[index + 1]) {
                failedRank = rank
                if let on = line.range(of: "exited on signal ") {
                    failedSignal = String(line[on.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: ". "))
                }
            }
            return
        }
        var message = line
        var isError = false
        if let rest = message.strippingPrefix("error:") { message = rest.trimmingCharacters(in: .whitespaces); isError = true }
        if let rest = message.strippingPrefix("rank "), let colon = rest.firstIndex(of: ":"), let rank = Int(rest[..<colon]) {
            let text = rest[rest.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if rankMessages[rank, default: []].count < Self.keep { rankMessages[rank, default: []].append(text) }
            // The watchdog's report says it ends the job; under load mpirun may be gone before it
            // prints its MPI_ABORT banner, so the report alone names the aborting rank.
            if abortingRank == nil, text.contains("; ending the job") { abortingRank = rank }
            return
        }
        if isError, errors.count < Self.keep { errors.append(message) }
    }

    /// One line describing the failure of a job that ended with `status`, or nil when it succeeded:
    /// the first failed rank and its own message, then another rank's message or the first `error:`.
    public func summary(status: Int32) -> String? {
        guard status != 0 else { return nil }
        var parts = ["the job failed (exit status \(status))"]
        let others = rankMessages.sorted { $0.key < $1.key }
        if let rank = abortingRank, let own = rankMessages[rank]?.first {
            parts.append("rank \(rank) ended the job: \(own)")
        } else if let rank = failedRank {
            var what = "rank \(rank)"
            if let code = failedExitCode { what += " exited with status \(code)" } else if let signal = failedSignal { what += " was killed by signal \(signal)" }
            if let own = rankMessages[rank]?.first {
                parts.append("\(what): \(own)")
            } else {
                parts.append(errors.first.map { "\(what): \($0)" } ?? what)
                if let other = others.first(where: { $0.key != rank }), let message = other.value.first {
                    parts.append("rank \(other.key): \(message)")
                }
            }
        } else if let first = others.first, let message = first.value.first {
            parts.append("rank \(first.key): \(message)")
            if let error = errors.first { parts.append(error) }
        } else if let error = errors.first {
            parts.append(error)
        } else if status > 128 {
            parts.append("stopped by signal \(status - 128)")
        }
        return parts.joined(separator: "; ")
    }

    /// Whether the job's own output already said why it failed: `error:` lines that every rank shares
    /// (rank 0 prints them once), with no rank's own message, no `MPI_Abort` and no rank killed by a
    /// signal. A launcher then adds no line of its own, so that a bad setting is one line, not two.
    public var ranksSaidWhy: Bool {
        !errors.isEmpty && rankMessages.isEmpty && abortingRank == nil && failedSignal == nil
    }

    /// The last whole number in `text`, e.g. 3 in `[[4711,1],3]`.
    static func lastNumber(in text: String) -> Int? {
        var digits = ""
        var last: Int?
        for ch in text + " " {
            if ch.isNumber { digits.append(ch) } else if !digits.isEmpty { last = Int(digits); digits = "" }
        }
        return last
    }
}

extension StringProtocol {
    /// The rest of the string after `prefix`, or nil when it does not start with it.
    fileprivate func strippingPrefix(_ prefix: String) -> String? {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil
    }
}
