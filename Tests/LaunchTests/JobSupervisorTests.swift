import Foundation
import Launch
import TestSupport
import XCTest

/// Real child processes (small shell scripts); signals are sent to this test process, whose handlers
/// the supervisor installs while it runs, exactly as a user's Ctrl-C or Slurm's signal would arrive.
final class JobSupervisorTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try LaunchFixtures.temporaryDirectory("supervisor") }

    func supervise(_ script: String, grace: Double = 30) -> JobSupervisor {
        JobSupervisor(executable: "/bin/sh", arguments: ["-c", script], environment: ["D": dir, "PATH": "/usr/bin:/bin"],
                      graceSeconds: grace, echo: false)
    }

    /// Runs `supervisor` on another thread; returns a function that waits for its outcome.
    func start(_ supervisor: JobSupervisor) -> () -> JobSupervisor.Outcome? {
        let done = DispatchSemaphore(value: 0)
        let box = OutcomeBox()
        Thread.detachNewThread {
            box.outcome = try? supervisor.run()
            done.signal()
        }
        return {
            guard done.wait(timeout: .now() + 60) == .success else { return nil }
            return box.outcome
        }
    }

    /// Starts a child that runs `trap`, says it is ready and loops (grace period 60 s); returns the wait.
    func startLooping(trap: String) throws -> () -> JobSupervisor.Outcome? {
        let wait = start(supervise(trap + "\ntouch \"$D/ready\"\nwhile :; do sleep 0.05; done", grace: 60))
        XCTAssertTrue(CommandRun.waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: dir + "/ready") })
        return wait
    }

    func file(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }

    func testExitStatusIsTheChildsOr128PlusItsSignal() throws {
        XCTAssertEqual(try supervise("exit 3").run().status, 3)
        XCTAssertEqual(try supervise("kill -9 $$").run().status, 137)
        XCTAssertEqual(try supervise("true").run().status, 0)
    }

    func testOutputIsReadForTheFailingRanksMessage() throws {
        let outcome = try supervise("echo 'step 1'; echo 'error: rank 1: out of memory' >&2; exit 4").run()
        XCTAssertEqual(outcome.status, 4)
        XCTAssertEqual(outcome.digest.rankMessages[1], ["out of memory"])
        XCTAssertEqual(outcome.digest.summary(status: outcome.status), "the job failed (exit status 4); rank 1: out of memory")
    }

    func testUSR1AndTERMAreForwardedToTheChild() throws {
        let wait = start(supervise("""
            trap 'echo USR1 >> "$D/log"' USR1
            trap 'echo TERM >> "$D/log"; exit 143' TERM
            touch "$D/ready"
            while :; do sleep 0.05; done
            """))
        XCTAssertTrue(CommandRun.waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: dir + "/ready") })
        kill(getpid(), SIGUSR1)
        XCTAssertTrue(CommandRun.waitUntil(timeout: 20) { file("log") == "USR1\n" }, file("log"))
        kill(getpid(), SIGTERM)
        let outcome = try XCTUnwrap(wait())
        XCTAssertEqual(file("log"), "USR1\nTERM\n")
        XCTAssertEqual(outcome.status, 143)
        XCTAssertEqual(outcome.forwardedSignals, [SIGUSR1, SIGTERM])
        XCTAssertFalse(outcome.killed)
    }

    func testAJobIgnoringTERMIsKilledWithEverythingBelowItAfterTheGracePeriod() throws {
        let wait = start(supervise("""
            trap '' TERM
            setsid sh -c 'echo $$ > "$D/grandchild"; exec sleep 120' &
            while [ ! -s "$D/grandchild" ]; do sleep 0.02; done
            touch "$D/ready"
            while :; do sleep 0.05; done
            """, grace: 1))
        XCTAssertTrue(CommandRun.waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: dir + "/ready") })
        let grandchild = try XCTUnwrap(pid_t(file("grandchild").trimmingCharacters(in: .whitespacesAndNewlines)))
        let start = Date()
        kill(getpid(), SIGTERM)
        let outcome = try XCTUnwrap(wait())
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(outcome.status, 137)
        XCTAssertTrue(outcome.killed)
        XCTAssertGreaterThanOrEqual(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 10)
        XCTAssertTrue(CommandRun.waitUntil(timeout: 5) { ProcessState.isGone(grandchild) }, "the job's grandchild \(grandchild) survived")
    }

    /// With `stopSignal: SIGUSR1` (mpirun, srun) a SIGINT or SIGTERM reaches the child as SIGUSR1;
    /// the outcome still records what arrived.
    func testAStopSignalIsDeliveredAsTheChosenSignal() throws {
        let supervisor = JobSupervisor(executable: "/bin/sh", arguments: ["-c", """
            trap 'echo USR1 >> "$D/log"; exit 75' USR1
            trap 'echo TERM >> "$D/log"; exit 143' TERM
            touch "$D/ready"
            while :; do sleep 0.05; done
            """], environment: ["D": dir, "PATH": "/usr/bin:/bin"], graceSeconds: 30, echo: false, stopSignal: SIGUSR1)
        let wait = start(supervisor)
        XCTAssertTrue(CommandRun.waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: dir + "/ready") })
        kill(getpid(), SIGTERM)
        let outcome = try XCTUnwrap(wait())
        XCTAssertEqual(file("log"), "USR1\n")
        XCTAssertEqual(outcome.status, 75)
        XCTAssertEqual(outcome.forwardedSignals, [SIGTERM])
        XCTAssertFalse(outcome.killed)
    }

    func testASecondTERMKillsAtOnce() throws {
        let wait = try startLooping(trap: "trap '' TERM INT")
        let start = Date()
        kill(getpid(), SIGINT)
        usleep(200_000)
        kill(getpid(), SIGTERM)
        let outcome = try XCTUnwrap(wait())
        XCTAssertEqual(outcome.status, 137)
        XCTAssertEqual(outcome.forwardedSignals, [SIGINT, SIGTERM])
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    /// A scheduler that signals every process of a job reaches the supervisor twice at once, directly
    /// and through the job script's trap: that is one stop (forwarded once, the grace period runs), and
    /// only a SIGTERM after `repeatWindow` is a second one that kills.
    func testTheSameTERMTwiceAtOnceIsOneStop() throws {
        let wait = try startLooping(trap: "trap 'echo TERM >> \"$D/got\"' TERM")
        let start = Date()
        kill(getpid(), SIGTERM)
        usleep(100_000)
        kill(getpid(), SIGTERM)
        XCTAssertTrue(CommandRun.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: dir + "/got") })
        usleep(300_000)
        XCTAssertEqual(try String(contentsOfFile: dir + "/got", encoding: .utf8), "TERM\n", "the child got one SIGTERM")
        usleep(UInt32((JobSupervisor.repeatWindow + 0.2) * 1e6))
        kill(getpid(), SIGTERM)
        let outcome = try XCTUnwrap(wait())
        XCTAssertEqual(outcome.status, 137)
        XCTAssertTrue(outcome.killed)
        XCTAssertEqual(outcome.forwardedSignals, [SIGTERM, SIGTERM])
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
    }
}

/// Carries an outcome from the supervising thread to the test.
private final class OutcomeBox: @unchecked Sendable {
    var outcome: JobSupervisor.Outcome?
}
