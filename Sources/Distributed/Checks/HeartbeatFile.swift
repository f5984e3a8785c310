import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A rank's heartbeat: a small file in the run directory recording the last collectives it issued,
/// so that a rank stuck in a collective can tell which ranks never arrived.
///
/// Out-of-band on purpose: when a collective hangs, the communicator is exactly what cannot be used to
/// ask the others. Every rank writes `<directory>/rank-NNNNN.hb` (a 64-byte header and a ring of the
/// last 64 `CollectiveRecord`s, 32 bytes each, one `pwrite` per collective, no allocation); any rank
/// can read the others' files. On one host that is the page cache; on a cluster the run directory is
/// on the shared filesystem jobs already use for checkpoints. The header carries a job token (from the
/// launcher's job id) so that files left by an earlier run in the same directory are ignored.
public final class HeartbeatFile {
    /// Records kept per rank (a rank this far ahead of a stalled one cannot be compared entry by entry).
    public static let ringSize = 64
    private static let headerSize = 64
    private static let magic: UInt64 = 0x3154_4145_4248_5450  // "PTHBEAT1" little-endian

    /// The directory holding every rank's file.
    public let directory: String
    /// This rank.
    public let rank: Int
    /// Identifies the job; files with another token are stale.
    public let jobToken: UInt64

    private let descriptor: Int32
    private let entry = UnsafeMutableRawPointer.allocate(byteCount: CollectiveRecord.encodedSize, alignment: 8)

    /// Creates (or truncates) this rank's file and writes its header. Throws with the path when the
    /// directory cannot be created or written.
    public init(directory: String, rank: Int, jobToken: UInt64) throws {
        self.directory = directory
        self.rank = rank
        self.jobToken = jobToken
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            entry.deallocate()
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: directory])
        }
        let path = Self.path(directory: directory, rank: rank)
        descriptor = open(path, O_CREAT | O_RDWR | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            entry.deallocate()
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        var header = [UInt8](repeating: 0, count: Self.headerSize + Self.ringSize * CollectiveRecord.encodedSize)
        header.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: jobToken.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: UInt64(rank).littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: UInt64(getpid()).littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: Self.hostToken.littleEndian, toByteOffset: 32, as: UInt64.self)
        }
        _ = header.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit {
        close(descriptor)
        entry.deallocate()
    }

    /// A token naming this host (FNV-1a of its name): a pid in another rank's header means a process
    /// here only when the tokens agree.
    public static let hostToken: UInt64 = {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in String(cString: name).utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }()

    /// The process id and host token `rank`'s file was written by (this job's only); nil when there is
    /// no such file.
    public static func writer(directory: String, rank: Int, jobToken: UInt64) -> (pid: pid_t, host: UInt64)? {
        let fd = open(path(directory: directory, rank: rank), O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 40)
        guard header.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 40, 0) }) == 40 else { return nil }
        return header.withUnsafeBytes { raw in
            guard UInt64(littleEndian: raw.load(fromByteOffset: 0, as: UInt64.self)) == magic,
                  UInt64(littleEndian: raw.load(fromByteOffset: 8, as: UInt64.self)) == jobToken else { return nil }
            return (pid_t(truncatingIfNeeded: UInt64(littleEndian: raw.load(fromByteOffset: 24, as: UInt64.self))),
                    UInt64(littleEndian: raw.load(fromByteOffset: 32, as: UInt64.self)))
        }
    }

    /// What is wrong with the process of `pid` on this host, if anything a stall report should say:
    /// stopped (state T/t: SIGSTOP, Ctrl-Z or a debugger) or gone (no process, or a zombie).
    public static func trouble(pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return "has exited (pid \(pid) is gone)" }
        // The state follows the parenthesised command name, which may itself hold spaces or parentheses.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        switch state {
        case "T", "t": return "is stopped (pid \(pid), state \(state!): SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it"
        case "Z", "X": return "has exited (pid \(pid) is a zombie)"
        default: return nil
        }
    }

    /// The file of `rank` in `directory`.
    public static func path(directory: String, rank: Int) -> String {
        directory + String(format: "/rank-%05d.hb", rank)
    }

    /// Records that this rank issued `record` (one `pwrite` into its ring slot; errors are ignored:
    /// a heartbeat must never stop training).
    public func publish(_ record: CollectiveRecord) {
        record.encode(into: entry)
        let slot = Int(record.sequence % UInt64(Self.ringSize))
        _ = pwrite(descriptor, entry, CollectiveRecord.encodedSize, off_t(Self.headerSize + slot * CollectiveRecord.encodedSize))
    }

    /// The records `rank`'s file holds for this job, oldest first; nil when the file is missing,
    /// unreadable or from another job.
    public static func read(directory: String, rank: Int, jobToken: UInt64) -> [CollectiveRecord]? {
        let fd = open(path(directory: directory, rank: rank), O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = headerSize + ringSize * CollectiveRecord.encodedSize
        var bytes = [UInt8](repeating: 0, count: size)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
        guard got >= headerSize else { return nil }
        return bytes.withUnsafeBytes { raw -> [CollectiveRecord]? in
            guard UInt64(littleEndian: raw.load(fromByteOffset: 0, as: UInt64.self)) == magic,
                  UInt64(littleEndian: raw.load(fromByteOffset: 8, as: UInt64.self)) == jobToken else { return nil }
            var records: [CollectiveRecord] = []
            for slot in 0..<ringSize where headerSize + (slot + 1) * CollectiveRecord.encodedSize <= got {
                if let r = CollectiveRecord.decode(raw.baseAddress! + headerSize + slot * CollectiveRecord.encodedSize) {
                    records.append(r)
                }
            }
            return records.sorted { $0.sequence < $1.sequence }
        }
    }

    /// A token naming the current job, from the launcher's environment (OpenMPI/PMIx namespace, Slurm
    /// job and step), or 0 when the process was started on its own.
    public static func launcherJobToken(environment: [String: String] = ProcessInfo.processInfo.environment) -> UInt64 {
        let keys = ["PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "PMI_JOBID"]
        var text = keys.compactMap { environment[$0] }.first ?? ""
        if text.isEmpty, let job = environment["SLURM_JOB_ID"] { text = job + "." + (environment["SLURM_STEP_ID"] ?? "") }
        guard !text.isEmpty else { return 0 }
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }
}
