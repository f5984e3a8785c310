import Foundation

/// Where a step's time goes: nanoseconds per kernel family, summed over forward and backward.
public final class StepProfile {
    /// The kernel families a step is split into.
    public enum Kind: Int, CaseIterable {
        case matmul, attention, loss, other, optimizer
        /// The label used in reports.
        public var label: String { ["matmul", "attention", "softmax+loss", "other kernels", "optimizer"][rawValue] }
    }

    /// Accumulated nanoseconds per kind.
    public private(set) var nanos = [UInt64](repeating: 0, count: Kind.allCases.count)

    public init() {}

    /// Adds `ns` to `kind`.
    @inline(__always) public func add(_ kind: Kind, _ ns: UInt64) { nanos[kind.rawValue] &+= ns }

    /// Clears all counters.
    public func reset() { for i in nanos.indices { nanos[i] = 0 } }

    /// Seconds spent in `kind`.
    public func seconds(_ kind: Kind) -> Double { Double(nanos[kind.rawValue]) / 1e9 }

    /// A monotonic clock in nanoseconds.
    @inline(__always) public static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Runs `body`, adding its time to `profile` under `kind` when there is a profile (models call
    /// this around each kernel; without a profile it costs one nil check).
    @inline(__always) public static func time(_ profile: StepProfile?, _ kind: Kind, _ body: () -> Void) {
        guard let profile else { return body() }
        let start = now()
        body()
        profile.add(kind, now() - start)
    }
}
