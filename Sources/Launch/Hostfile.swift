import Foundation

/// An OpenMPI hostfile: one machine per line as `host slots=N [max_slots=M]`, `#` comments.
///
/// Every line must name its slots (the ranks to start on that machine): without them mpirun guesses
/// from the remote core count, and `pretrain launch` could not check `num_processes` before starting.
/// A host named on several lines gets the sum of their slots, as mpirun does.
public struct Hostfile: Equatable, Sendable {
    /// One machine and the ranks it takes.
    public struct Entry: Equatable, Sendable {
        /// Name or address, as written.
        public let host: String
        /// Ranks mpirun may start there.
        public let slots: Int
        public init(host: String, slots: Int) { self.host = host; self.slots = slots }
    }

    /// The file the entries came from.
    public let path: String
    /// The machines in order of first appearance, duplicates merged.
    public let entries: [Entry]

    /// Slots over all machines.
    public var totalSlots: Int { entries.reduce(0) { $0 + $1.slots } }

    /// Reads and parses the hostfile at `path`.
    public static func load(path: String) throws -> Hostfile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw LaunchError("\(path): no such hostfile (mpirun_config.mpirun_hostfile); write one line per machine like `node1 slots=4` (see cluster/hostfile.example) or fix the path")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LaunchError("\(path): hostfile cannot be read as text; check its permissions")
        }
        return try parse(text, path: path)
    }

    /// Parses hostfile text; `path` only names the file in errors.
    public static func parse(_ text: String, path: String) throws -> Hostfile {
        var order: [String] = []
        var slots: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let host = words.first else { continue }
            let at = "\(path):\(index + 1)"
            var count: Int?
            for word in words.dropFirst() {
                let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else {
                    throw LaunchError("\(at): cannot read `\(word)`; write `\(host) slots=N`")
                }
                switch parts[0] {
                case "slots", "cpu", "count":
                    guard let n = Int(parts[1]), n >= 1 else {
                        throw LaunchError("\(at): slots=\(parts[1]) for \(host) is not a positive whole number; write `\(host) slots=N` with N ≥ 1")
                    }
                    count = n
                case "max_slots", "max-slots":
                    guard let n = Int(parts[1]), n >= 1 else {
                        throw LaunchError("\(at): max_slots=\(parts[1]) for \(host) is not a positive whole number")
                    }
                default:
                    throw LaunchError("\(at): unknown hostfile field `\(parts[0])`; lines look like `\(host) slots=N`")
                }
            }
            guard let count else {
                throw LaunchError("\(at): host \(host) names no slots; write `\(host) slots=N` (N = ranks to start there)")
            }
            if slots[host] == nil { order.append(host) }
            slots[host, default: 0] += count
        }
        guard !order.isEmpty else {
            throw LaunchError("\(path): hostfile names no machines; write one line per machine like `node1 slots=4`")
        }
        return Hostfile(path: path, entries: order.map { Entry(host: $0, slots: slots[$0]!) })
    }
}
