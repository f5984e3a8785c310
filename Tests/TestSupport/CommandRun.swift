import Foundation

/// A process started by a test, with stdout and stderr captured separately and a way to signal it.
public final class CommandRun {
    /// How a finished process ended and what it wrote.
    public struct Result {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// Whether it had to be killed at the timeout.
        public let timedOut: Bool
        /// stderr's non-empty lines.
        public var errorLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    public let process = Process()
    private let outPipe = Pipe(), errPipe = Pipe()
    private let readers = DispatchGroup()
    private let lock = NSLock()
    private var out = Data(), err = Data()

    /// Starts `executable arguments` with the test's environment plus `environment` (a value of "" removes
    /// the variable), in `directory`, with `input` on stdin (or /dev/null).
    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
         input: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value.isEmpty ? nil : value }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        if let input {
            inPipe.fileHandleForWriting.write(Data(input.utf8))
            try? inPipe.fileHandleForWriting.close()
        }
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            readers.enter()
            DispatchQueue.global().async { [self] in
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                lock.withLock { if isOut { out = data } else { err = data } }
                readers.leave()
            }
        }
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits up to `timeout` seconds (then kills it) and returns the result.
    public func wait(timeout: TimeInterval = 120) -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline { timedOut = true; kill(process.processIdentifier, SIGKILL); break }
            usleep(20_000)
        }
        process.waitUntilExit()
        _ = readers.wait(timeout: .now() + 10)
        return lock.withLock {
            Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                   stderr: String(decoding: err, as: UTF8.self), timedOut: timedOut)
        }
    }

    /// Runs to completion.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
                    input: String? = nil, timeout: TimeInterval = 120) throws -> Result {
        try CommandRun(executable, arguments, environment: environment, directory: directory, input: input).wait(timeout: timeout)
    }

    /// Polls `condition` every 50 ms for up to `timeout` seconds; true when it held.
    public static func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}
