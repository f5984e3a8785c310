import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Write end of the pipe that signal handlers report to (a handler can only do async-signal-safe work).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Turns asynchronous signals into a blocking stream of signal numbers (the self-pipe trick).
final class SignalPipe {
    private let readEnd: Int32
    private let signals: [Int32]
    private var previous: [Int32: sighandler_t?] = [:]

    private init(readEnd: Int32, signals: [Int32]) {
        self.readEnd = readEnd
        self.signals = signals
    }

    /// Catches `signals` until `uninstall()`; each arrival can then be read with `next()`.
    static func install(_ signals: [Int32]) throws -> SignalPipe {
        guard let fds = closeOnExecPipe() else {
            throw LaunchError("cannot create a pipe for signals: \(String(cString: strerror(errno)))")
        }
        signalPipeWriteEnd = fds[1]
        let pipe = SignalPipe(readEnd: fds[0], signals: signals)
        for signal in signals {
            pipe.previous[signal] = Glibc.signal(signal) { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
        }
        return pipe
    }

    /// The next caught signal; blocks; nil once uninstalled.
    func next() -> Int32? {
        var byte: UInt8 = 0
        while true {
            let n = read(readEnd, &byte, 1)
            if n == 1 { return Int32(byte) }
            if n < 0 && errno == EINTR { continue }
            close(readEnd)
            return nil
        }
    }

    /// Restores the previous handlers and ends the stream.
    func uninstall() {
        for signal in signals { _ = Glibc.signal(signal, previous[signal] ?? nil) }
        let end = signalPipeWriteEnd
        signalPipeWriteEnd = -1
        close(end)
    }
}

/// A pipe whose ends are closed in programs this process starts; nil when the system refuses one.
func closeOnExecPipe() -> [Int32]? {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { return nil }
    for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return fds
}
