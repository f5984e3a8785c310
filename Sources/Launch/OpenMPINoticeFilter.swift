/// Takes out of a job's output the OpenMPI notices that only repeat what the ranks and the
/// launcher's summary say: "Primary job terminated normally, but N process(es) returned a non-zero
/// exit code" and "mpirun detected that one or more processes exited with non-zero status" (each a
/// block between two dashed rules).
///
/// mpirun prints them whenever a rank exits with a status other than 0, even after that rank ended
/// through `MPI_Finalize` with its one error line; no MCA setting removes only them (`-q`, alias
/// `orte_execute_quiet`, also removes mpirun's reports of ranks killed by a signal, which the summary
/// needs). Everything else passes through unchanged and at once, except a dashed line, which is held
/// until the next line says whether it opens one of these notices.
public struct OpenMPINoticeFilter: Sendable {
    /// The first words of the notices that are dropped (after their opening rule).
    public static let notices = ["Primary job  terminated normally, but", "Primary job terminated normally, but",
                                 "mpirun detected that one or more processes exited with non-zero status"]

    private var partial: [UInt8] = []
    /// Bytes of the current line already passed on (it could not be a rule).
    private var midLine = false
    private var heldRule: [UInt8]?
    private var dropping = false

    public init() {}

    /// Takes the next bytes of the stream and returns what should be shown now.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        for byte in bytes {
            if midLine {
                out.append(byte)
                if byte == 10 { midLine = false }
                continue
            }
            partial.append(byte)
            if byte == 10 {
                out += line(partial)
                partial = []
            }
        }
        // A started line that cannot be a rule, outside a held or dropped block, goes out at once.
        if !partial.isEmpty, heldRule == nil, !dropping, partial.first != UInt8(ascii: "-") {
            out += partial
            partial = []
            midLine = true
        }
        return out
    }

    /// What is still held when the stream ends.
    public mutating func finish() -> [UInt8] {
        defer { heldRule = nil; partial = [] }
        return dropping ? [] : (heldRule ?? []) + partial
    }

    private mutating func line(_ bytes: [UInt8]) -> [UInt8] {
        let isRule = bytes.count > 20 && bytes.allSatisfy { $0 == UInt8(ascii: "-") || $0 == 10 || $0 == 13 }
        if dropping {
            if isRule { dropping = false }
            return []
        }
        if let rule = heldRule {
            heldRule = nil
            let text = String(decoding: bytes, as: UTF8.self)
            if Self.notices.contains(where: { text.hasPrefix($0) }) {
                dropping = true
                return []
            }
            return rule + line(bytes)
        }
        if isRule {
            heldRule = bytes
            return []
        }
        return bytes
    }
}
