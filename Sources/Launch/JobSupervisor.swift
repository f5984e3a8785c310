import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a job's launcher process (mpirun, srun or one rank), passes its output through, forwards
/// SIGINT, SIGTERM and SIGUSR1 to it, and reports how it ended.
///
/// - The child gets its own process group and `/dev/null` as stdin: a Ctrl-C in the terminal reaches
///   only this process, which forwards it once (mpirun treats a second SIGINT as "abort now"), and
///   mpirun never stops on terminal input.
/// - SIGUSR1 is forwarded and nothing else happens (mpirun passes it on to every rank: the signal
///   Slurm's `--signal=USR1@…` sends before preemption).
/// - SIGTERM reaches the child as `stopSignal` and SIGINT as `interruptSignal` (default: themselves).
///   `pretrain launch` passes SIGUSR1 and SIGUSR2 for mpirun and srun: mpirun answers its own
///   SIGINT/SIGTERM by aborting the job (exit status 1, SIGKILL to the ranks 1 s after their SIGTERM),
///   but passes SIGUSR1 and SIGUSR2 on to every rank, which then saves a checkpoint and exits with the
///   preemption status 75 (SIGUSR1) or the interrupt status 130 (SIGUSR2, a Ctrl-C).
/// - After the first SIGINT or SIGTERM the child has `graceSeconds` to end; then it and every process
///   below it (mpirun's ranks live in process groups of their own) get SIGKILL. A second SIGINT or
///   SIGTERM kills at once, except the same signal again within `repeatWindow` (one stop that arrived
///   twice: from the scheduler and through the job script).
/// - The exit status is the child's, or 128 + the signal that ended it.
public final class JobSupervisor {
    /// How the job ended.
    public struct Outcome: Sendable {
        /// The child's exit status, or 128 + signal.
        public let status: Int32
        /// What the output said about failures.
        public let digest: FailureDigest
        /// Signals forwarded to the child, in order.
        public let forwardedSignals: [Int32]
        /// Whether the job was killed (the grace period ran out, or a second SIGINT/SIGTERM came).
        public let killed: Bool
    }

    /// Signals that are forwarded to the child.
    public static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGUSR1]

    let executable: String
    let arguments: [String]
    let environment: [String: String]
    let graceSeconds: Double
    let echo: Bool
    let stopSignal: Int32?, interruptSignal: Int32?
    private let lock = NSLock()
    private var digest = FailureDigest()
    private var forwarded: [Int32] = []
    private var killed = false
    private var childPid: pid_t = 0
    private var exited = false
    private var stopping = false
    /// When the first SIGINT/SIGTERM came (uptime ns), and which it was.
    private var firstStop: (signal: Int32, at: UInt64)?
    /// A repeat of the first stop signal within this many seconds is the same stop, not a second one:
    /// a scheduler that signals every process of a job (Slurm at a time limit, PBS on qdel) reaches this
    /// process both directly and through the job script that forwards it.
    public static let repeatWindow = 1.0

    /// `executable arguments` with exactly `environment`; `echo` passes output to this process's own;
    /// `stopSignal` is what a SIGTERM is delivered to the child as, `interruptSignal` what a SIGINT is
    /// (nil: `stopSignal`, or the signal itself).
    public init(executable: String, arguments: [String], environment: [String: String], graceSeconds: Double, echo: Bool = true,
                stopSignal: Int32? = nil, interruptSignal: Int32? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.graceSeconds = graceSeconds
        self.echo = echo
        self.stopSignal = stopSignal
        self.interruptSignal = interruptSignal
    }

    /// Starts the child, supervises it until it ends and returns how it ended.
    public func run() throws -> Outcome {
        let signals = try SignalPipe.install(Self.forwardedSignals)
        defer { signals.uninstall() }
        guard let outPipe = closeOnExecPipe(), let errPipe = closeOnExecPipe() else {
            throw LaunchError("cannot create pipes for the job's output: \(String(cString: strerror(errno)))")
        }
        Self.closeInheritedDescriptorsOnExec()
        let pid = try spawn(stdout: outPipe[1], stderr: errPipe[1])
        close(outPipe[1]); close(errPipe[1])
        lock.withLock { childPid = pid }

        let readers = DispatchGroup()
        for (fd, target) in [(outPipe[0], STDOUT_FILENO), (errPipe[0], STDERR_FILENO)] {
            readers.enter()
            Thread.detachNewThread { [self] in
                pump(from: fd, to: target)
                close(fd)
                readers.leave()
            }
        }
        Thread.detachNewThread { [self] in
            while let signal = signals.next() { handle(signal) }
        }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        lock.withLock { exited = true }
        // Processes the child left behind may hold the pipes open; do not wait for them for long.
        if readers.wait(timeout: .now() + 3) == .timedOut {
            killTree(of: pid, includingRoot: false)
            _ = readers.wait(timeout: .now() + 2)
        }
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return lock.withLock { Outcome(status: exitStatus, digest: digest, forwardedSignals: forwarded, killed: killed) }
    }

    private func spawn(stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer { posix_spawn_file_actions_destroy(&actions); posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, STDOUT_FILENO)
        posix_spawn_file_actions_adddup2(&actions, stderr, STDERR_FILENO)
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults)
        sigemptyset(&empty)
        for signal in Self.forwardedSignals + [SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw LaunchError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Copies `fd` to `target` as it arrives, feeding complete lines to the digest; on stderr without
    /// OpenMPI's notices about non-zero exit statuses (`OpenMPINoticeFilter`), which the digest still reads.
    private func pump(from fd: Int32, to target: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var partial: [UInt8] = []
        var notices = target == STDERR_FILENO ? OpenMPINoticeFilter() : nil
        defer {
            if echo, var filter = notices {
                let rest = filter.finish()
                if !rest.isEmpty { rest.withUnsafeBytes { writeAll(target, $0.baseAddress!, rest.count) } }
            }
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            if echo, notices != nil {
                let shown = notices!.feed(buffer[0..<n])
                if !shown.isEmpty { shown.withUnsafeBytes { writeAll(target, $0.baseAddress!, shown.count) } }
            } else if echo {
                buffer.withUnsafeBytes { writeAll(target, $0.baseAddress!, n) }
            }
            partial.append(contentsOf: buffer[0..<n])
            while let newline = partial.firstIndex(of: 10) {
                let line = String(decoding: partial[..<newline], as: UTF8.self)
                partial.removeSubrange(...newline)
                lock.withLock { digest.consume(line) }
            }
        }
        if !partial.isEmpty { lock.withLock { digest.consume(String(decoding: partial, as: UTF8.self)) } }
    }

    private func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) {
        var done = 0
        while done < count {
            let n = write(fd, bytes + done, count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            done += n
        }
    }

    /// Forwards one signal; INT/TERM start the grace period (or kill at once the second time).
    private func handle(_ signal: Int32) {
        let (pid, gone): (pid_t, Bool) = lock.withLock { (childPid, exited) }
        guard !gone, pid > 0 else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let repeated: Bool = lock.withLock {
            guard let first = firstStop, first.signal == signal else { return false }
            return Double(now - first.at) / 1e9 < Self.repeatWindow
        }
        if repeated { return }
        let alreadyStopping: Bool = lock.withLock {
            forwarded.append(signal)
            let was = stopping
            if signal != SIGUSR1 {
                stopping = true
                if firstStop == nil { firstStop = (signal, now) }
            }
            return was
        }
        if signal == SIGUSR1 { kill(pid, signal); return }
        if alreadyStopping {
            FileHandle.standardError.write(Data("pretrain launch: second signal; killing the job now\n".utf8))
            lock.withLock { killed = true }
            killTree(of: pid, includingRoot: true)
            return
        }
        kill(pid, signal == SIGINT ? interruptSignal ?? stopSignal ?? signal : stopSignal ?? signal)
        DispatchQueue.global().asyncAfter(deadline: .now() + graceSeconds) { [self] in
            guard !lock.withLock({ exited }) else { return }
            FileHandle.standardError.write(Data("pretrain launch: the job did not stop within \(graceSeconds) s of the signal; killing it\n".utf8))
            lock.withLock { killed = true }
            killTree(of: pid, includingRoot: true)
        }
    }

    /// Marks every descriptor above stderr close-on-exec, so that the job does not inherit pipes this
    /// process got from its own parent (a rank holding them would keep the parent waiting for output).
    static func closeInheritedDescriptorsOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for fd in names.compactMap({ Int32($0) }) where fd > STDERR_FILENO {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    /// SIGKILL to every process below `root` (and their process groups), then to `root`.
    private func killTree(of root: pid_t, includingRoot: Bool) {
        let below = ProcessTree.descendants(of: root)
        for (pid, group) in below {
            if group > 1, group != getpgrp() { kill(-group, SIGKILL) }
            kill(pid, SIGKILL)
        }
        if includingRoot, !lock.withLock({ exited }) {
            kill(-root, SIGKILL)
            kill(root, SIGKILL)
        }
    }
}
