import Foundation

/// A failure injected on purpose, to test that the job reports it and ends instead of hanging.
///
/// Written `KIND@RANK:STEP` on the command line (`pretrain train --inject-fault skip-loss-allreduce@1:3`):
/// - `skip-loss-allreduce`: the rank does not take part in the loss average of that step and carries on;
/// - `hang`: the rank stops making progress at the start of that step (sleeps), as a stuck process would;
/// - `exit`: the rank ends its process with status 3 at the start of that step, as a crash would;
/// - `sigterm`: the rank sends itself SIGTERM at the start of that step, as a scheduler preempting the
///   job would (the run saves a checkpoint at the end of the step and exits with status 75).
/// - `wait-for-signal`: the rank waits at the start of that step until a stop signal (SIGTERM, SIGINT,
///   SIGUSR1) arrives, then takes the step, as a job still running when its scheduler's time limit nears.
/// Steps count from 1, like the reported step numbers.
public enum TrainingFault: Sendable, Equatable {
    /// `rank` skips the loss allreduce of `step`.
    case skipLossAllreduce(rank: Int, step: Int)
    /// `rank` sleeps forever at the start of `step`.
    case hang(rank: Int, step: Int)
    /// `rank` exits with `status` at the start of `step`.
    case exit(rank: Int, step: Int, status: Int32)
    /// `rank` receives SIGTERM (from itself) at the start of `step`.
    case signal(rank: Int, step: Int)
    /// `rank` waits at the start of `step` until a stop signal has arrived.
    case waitForSignal(rank: Int, step: Int)

    /// Parses `KIND@RANK:STEP`; nil when the text is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "@")
        guard parts.count == 2 else { return nil }
        let place = parts[1].split(separator: ":")
        guard place.count == 2, let rank = Int(place[0]), let step = Int(place[1]), rank >= 0, step >= 1 else { return nil }
        switch parts[0] {
        case "skip-loss-allreduce": self = .skipLossAllreduce(rank: rank, step: step)
        case "hang": self = .hang(rank: rank, step: step)
        case "exit": self = .exit(rank: rank, step: step, status: 3)
        case "sigterm": self = .signal(rank: rank, step: step)
        case "wait-for-signal": self = .waitForSignal(rank: rank, step: step)
        default: return nil
        }
    }

    /// Whether `rank` skips the loss allreduce of `step`.
    func skipsLossAllreduce(rank: Int, step: Int) -> Bool {
        self == .skipLossAllreduce(rank: rank, step: step)
    }

    /// Hangs or exits when this fault is due for `rank` at the start of `step`; returns otherwise.
    func strike(rank: Int, step: Int) {
        switch self {
        case let .hang(r, s) where r == rank && s == step:
            FileHandle.standardError.write(Data("rank \(rank): injected fault: hanging at step \(step)\n".utf8))
            while true { Thread.sleep(forTimeInterval: 3600) }
        case let .exit(r, s, status) where r == rank && s == step:
            FileHandle.standardError.write(Data("rank \(rank): injected fault: exiting with status \(status) at step \(step)\n".utf8))
            Foundation.exit(status)
        case let .signal(r, s) where r == rank && s == step:
            kill(getpid(), SIGTERM)
        case let .waitForSignal(r, s) where r == rank && s == step:
            FileHandle.standardError.write(Data("rank \(rank): injected fault: waiting at step \(step) for a stop signal\n".utf8))
            while PreemptionFlag.signal == 0 { Thread.sleep(forTimeInterval: 0.05) }
        default:
            return
        }
    }
}
