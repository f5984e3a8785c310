/// What this binary was built from, fixed at build time (`Plugins/BuildInfoPlugin` writes `commit`
/// and `swiftVersion`): for `pretrain --version` and `pretrain env`.
public enum BuildInfo {
    /// The project's version.
    public static let version = "0.1.0"

    /// "0.1.0 (commit 1a2b3c4d5e6f, Swift version 6.3.1 (swift-6.3.1-RELEASE))".
    public static var summary: String { summary(commit: commit, swiftVersion: swiftVersion) }

    /// The summary of a build from `commit` with `swiftVersion` (the generated values): "commit unknown"
    /// outside a git clone, "Swift version unknown" where `swift --version` could not be run.
    public static func summary(commit: String, swiftVersion: String) -> String {
        "\(version) (commit \(commit), \(swiftVersion == "unknown" ? "Swift version unknown" : swiftVersion))"
    }
}
