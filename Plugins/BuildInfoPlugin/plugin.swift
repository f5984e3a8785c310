import Foundation
import PackagePlugin

/// Writes `BuildInfo+Generated.swift` into the `BuildInfo` target before every build by running
/// `build-info.sh` beside this file (the git commit of the package, or "unknown" outside a clone, and
/// the first line of `swift --version`; the script says how each is found).
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("generated")
        let root = context.package.directoryURL
        let script = root.appendingPathComponent("Plugins/BuildInfoPlugin/build-info.sh")
        return [.prebuildCommand(displayName: "Embedding the git commit and Swift version",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: [script.path, root.path, out.path],
                                 environment: ProcessInfo.processInfo.environment,
                                 outputFilesDirectory: out)]
    }
}
