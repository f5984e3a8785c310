import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Machine-wide CPU time (from /proc/stat) next to this process's children's CPU time, so that a
/// benchmark can tell how much of the machine other processes used while it ran.
public struct CPUUsage: Sendable {
    /// Busy seconds of all CPUs since boot.
    public var busy: Double
    /// User + system seconds of this process's waited-for children.
    public var children: Double
    /// Monotonic seconds.
    public var time: Double

    /// Now.
    public static func sample() -> CPUUsage {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        let children = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        return CPUUsage(busy: machineBusySeconds(), children: children,
                        time: Double(DispatchTime.now().uptimeNanoseconds) / 1e9)
    }

    /// Cores' worth of CPU that processes other than this one's children used between `start` and
    /// this sample (0 when /proc is unavailable).
    public func foreignCores(since start: CPUUsage) -> Double {
        let wall = time - start.time
        guard wall > 0, busy > 0 else { return 0 }
        return max(0, (busy - start.busy) - (children - start.children)) / wall
    }

    /// Waits until other processes use less than `threshold` cores over a 2-second window, for at
    /// most `limit` seconds (then goes on, saying so on standard error).
    public static func waitUntilIdle(below threshold: Double, atMost limit: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        var announced = false
        while true {
            let a = sample()
            Thread.sleep(forTimeInterval: 2)
            let used = sample().foreignCores(since: a)
            if used < threshold { return }
            let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if waited > limit {
                FileHandle.standardError.write(Data(String(format: "  machine still busy (%.2f cores used by others); measuring anyway\n", used).utf8))
                return
            }
            if !announced {
                FileHandle.standardError.write(Data(String(format: "  waiting for the machine to be idle (others use %.2f cores)\n", used).utf8))
                announced = true
            }
        }
    }

    /// Sum of the non-idle jiffies of the `cpu` line of /proc/stat, in seconds.
    private static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return 0 }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 5 else { return 0 }
        // user nice system idle iowait irq softirq steal ...: busy = all − idle − iowait.
        let total = fields.prefix(8).reduce(0, +)
        let busy = total - fields[3] - fields[4]
        return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
