import Foundation

/// The small statistics the benchmark tables report.
public enum Statistics {
    /// The median (the mean of the middle two for an even count); 0 for no values.
    public static func median<C: Collection>(_ values: C) -> Double where C.Element == Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// The 1-, 5- and 15-minute load averages (empty where /proc is unavailable).
    public static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    /// Seconds since `start` (a `DispatchTime` uptime in nanoseconds).
    public static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
