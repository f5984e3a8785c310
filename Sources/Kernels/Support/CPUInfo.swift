import Foundation

/// What this host's CPU can do, read once from `/proc/cpuinfo` (Linux) or `sysctl` names elsewhere.
///
/// Used to pick OpenBLAS's kernel family when its own detection falls short, and to check that a
/// binary built for x86-64-v3 (AVX2 + FMA) is not started on an older CPU.
public struct CPUInfo: Sendable {
    /// Lower-cased CPU feature flags (`avx2`, `fma`, `avx512f`, ...).
    public let flags: Set<String>
    /// The marketing name, e.g. "AMD EPYC" or "Intel(R) Xeon(R) Platinum 8480+".
    public let modelName: String
    /// Logical cores this process may use.
    public let cores: Int

    /// The host's CPU, read once.
    public static let host = CPUInfo.read()

    static func read() -> CPUInfo {
        var flags = Set<String>()
        var model = "unknown"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                if flags.isEmpty, line.hasPrefix("flags") {
                    if let colon = line.firstIndex(of: ":") {
                        flags = Set(line[line.index(after: colon)...].split(separator: " ").map { $0.lowercased() })
                    }
                } else if model == "unknown", line.hasPrefix("model name") {
                    if let colon = line.firstIndex(of: ":") {
                        model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                }
            }
        }
        return CPUInfo(flags: flags, modelName: model, cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// AVX2 and FMA, the features of the default x86-64-v3 build.
    public var hasAVX2FMA: Bool { flags.contains("avx2") && flags.contains("fma") }

    /// The AVX-512 subset OpenBLAS's SkylakeX kernels use.
    public var hasAVX512: Bool {
        ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains)
    }

    /// The OpenBLAS core type this CPU should run, or nil when OpenBLAS's own choice is as good as it gets.
    public var preferredBLASCore: String? {
        if hasAVX512 { return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX" }
        if hasAVX2FMA { return "Haswell" }
        return nil
    }
}
