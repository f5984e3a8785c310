import Foundation

/// Memory the system would not give: an allocation of `bytes` failed, because the host is out of
/// memory or the process reached its address-space limit (`ulimit -v`).
///
/// Every large buffer of the model, its activations and the optimizer comes from
/// `AllocationError.allocate(bytes:)`, so running out of memory is this thrown error, never a crash.
/// The training run adds the config's levers to the message (`MemoryPlan.allocationFailed`).
public struct AllocationError: UserFacingError, CustomStringConvertible, Equatable {
    /// The size of the allocation that failed.
    public let bytes: Int

    public init(bytes: Int) { self.bytes = bytes }

    /// "could not allocate 222.7 MiB (233502720 bytes)".
    public var what: String { "could not allocate \(Self.size(bytes))" }

    /// Why the system refused: the process's address-space limit when it has one, else memory.
    public static var cause: String {
        addressLimit.map { "the process's address-space limit refused it (ulimit -v \($0 / 1024), \(size($0)))" }
            ?? "the system refused it (other processes may hold that memory now)"
    }

    public var message: String {
        what + "; \(Self.cause); lower the batch size (training.micro_batch) or the sequence length (training.seq_len), use a smaller model, "
            + "or with several ranks set training.zero1: true (each rank keeps 1/N of the AdamW moments)"
    }

    public var exitCode: Int32 { 2 }
    public var description: String { message }

    /// `bytes` of 64-byte-aligned, uninitialised memory, released with `free`; throws instead of
    /// crashing when the system refuses (or when the size overflows).
    public static func allocate(bytes: Int) throws -> UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer?
        guard bytes >= 0, posix_memalign(&pointer, 64, max(64, bytes)) == 0, let pointer else {
            throw AllocationError(bytes: bytes)
        }
        return pointer
    }

    /// `count` elements of `T` from `allocate(bytes:)`, every one set to `value`; released with `free`.
    public static func allocate<T>(filling value: T, count: Int) throws -> UnsafeMutablePointer<T> {
        let (bytes, overflow) = max(1, count).multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        if overflow { throw AllocationError(bytes: .max) }
        let pointer = try allocate(bytes: bytes).bindMemory(to: T.self, capacity: max(1, count))
        pointer.initialize(repeating: value, count: max(1, count))
        return pointer
    }

    /// RLIMIT_AS when the process has one.
    public static var addressLimit: Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// "600.21 GiB (644468768768 bytes)".
    static func size(_ bytes: Int) -> String {
        bytes == .max ? "more bytes than a 64-bit size can hold"
            : (bytes >= 1 << 30 ? String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))) + " (\(bytes) bytes)"
    }
}
