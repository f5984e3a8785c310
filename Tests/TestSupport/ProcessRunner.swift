import Foundation

/// Runs the built `pretrain` binary, alone or under mpirun, for tests that need real processes.
public enum ProcessRunner {
    /// Output and exit status of one finished process.
    public struct Run: Sendable {
        public let status: Int32
        public let output: String
        public var lines: [String] { output.split(separator: "\n").map(String.init) }
    }

    /// The `pretrain` executable was not built next to the tests.
    public struct MissingBinary: Error, CustomStringConvertible {
        public let searched: [String]
        public var description: String {
            "no pretrain executable at \(searched); build it first (`swift build -c release`) or set PRETRAIN_BINARY"
        }
    }

    /// The `pretrain` executable: $PRETRAIN_BINARY, else next to the test bundle (SwiftPM puts
    /// products and the .xctest bundle in the same directory, e.g. .build/release/).
    public static func pretrainBinary() throws -> String {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["PRETRAIN_BINARY"] { candidates.append(explicit) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = executable.deletingLastPathComponent()
        for _ in 0..<4 {  // .build/release/X.xctest/Contents/MacOS on macOS, .build/release/X.xctest on Linux
            candidates.append(dir.appendingPathComponent("pretrain").path)
            dir = dir.deletingLastPathComponent()
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("pretrain").path)
        }
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        throw MissingBinary(searched: candidates)
    }

    /// Runs `executable arguments` with stdout and stderr merged; kills it after `timeout` seconds.
    public static func execute(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120,
                               environment extra: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The flags every test launch needs: oversubscription (2-core machines), ob1, root consent when root.
    public static var mpirunFlags: [String] {
        var flags = ["--oversubscribe", "--mca", "pml", "ob1"]
        if getuid() == 0 { flags.append("--allow-run-as-root") }
        return flags
    }

    /// `mpirun -n ranks pretrain arguments`.
    public static func mpirun(_ ranks: Int, _ arguments: [String], timeout: TimeInterval = 120,
                              environment: [String: String] = [:]) throws -> Run {
        try execute("/usr/bin/env", ["mpirun", "-n", "\(ranks)"] + mpirunFlags + [try pretrainBinary()] + arguments,
                    timeout: timeout, environment: environment)
    }

    /// `pretrain arguments` as one process.
    public static func pretrain(_ arguments: [String], timeout: TimeInterval = 120) throws -> Run {
        try execute(try pretrainBinary(), arguments, timeout: timeout)
    }
}
