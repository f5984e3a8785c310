import Launch
import XCTest

final class FailureDigestTests: XCTestCase {
    private func digest(_ text: String) -> FailureDigest {
        var digest = FailureDigest()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { digest.consume(String(line)) }
        return digest
    }

    func testOpenMPIReportNamesTheFirstFailedRankAndItsOwnMessage() {
        let d = digest("""
        step 1 | loss 4.1
        error: rank 1: allreduce timed out after 600 s
        --------------------------------------------------------------------------
        mpirun detected that one or more processes exited with non-zero status, thus causing
        the job to be terminated. The first process to do so was:

          Process name: [[16920,1],1]
          Exit code:    3
        --------------------------------------------------------------------------
        """)
        XCTAssertEqual(d.failedRank, 1)
        XCTAssertEqual(d.failedExitCode, 3)
        XCTAssertEqual(d.summary(status: 3), "the job failed (exit status 3); rank 1 exited with status 3: allreduce timed out after 600 s")
        XCTAssertFalse(d.ranksSaidWhy)
    }

    func testRankWithoutOwnMessageGetsTheSharedErrorAndAnotherRanksMessage() {
        let d = digest("""
        rank 1: allreduce float32 sum n=7: element 0 of 7: expected -685.0, got -684.0
        error: 24 communicator checks failed
          Process name: [[5,1],0]
          Exit code:    1
        """)
        XCTAssertEqual(d.summary(status: 1),
                       "the job failed (exit status 1); rank 0 exited with status 1: 24 communicator checks failed; rank 1: allreduce float32 sum n=7: element 0 of 7: expected -685.0, got -684.0")
    }

    func testWatchdogReportNamesTheAbortingRankWithoutMPIsBanner() {
        // Under load mpirun can be gone before it prints "MPI_ABORT was invoked on rank 0".
        let d = digest("""
        error: rank 0: collective #18 allreduce(int64 × 2) has not completed on rank 0 after 3.0 s: rank 1 is stopped (pid 7, state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it; ending the job (training.watchdog_seconds is 3.0)
        error: rank 1: allreduce: connection reset by peer
        """)
        XCTAssertEqual(d.abortingRank, 0)
        XCTAssertEqual(d.summary(status: 4), "the job failed (exit status 4); rank 0 ended the job: collective #18 allreduce(int64 × 2) has not completed on rank 0 after 3.0 s: rank 1 is stopped (pid 7, state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it; ending the job (training.watchdog_seconds is 3.0)")
    }

    func testSignalReport() {
        let d = digest("mpirun noticed that process rank 3 with PID 4711 on node n2 exited on signal 9 (Killed).")
        XCTAssertEqual(d.failedRank, 3)
        XCTAssertEqual(d.failedSignal, "9 (Killed)")
        XCTAssertEqual(d.summary(status: 137), "the job failed (exit status 137); rank 3 was killed by signal 9 (Killed)")
        XCTAssertFalse(d.ranksSaidWhy)
    }

    func testPlainErrorFromRankZeroAndSuccess() {
        let d = digest("error: data.train: no files match /x/train_*.bin")
        XCTAssertEqual(d.errors, ["data.train: no files match /x/train_*.bin"])
        XCTAssertEqual(d.summary(status: 2), "the job failed (exit status 2); data.train: no files match /x/train_*.bin")
        XCTAssertTrue(d.ranksSaidWhy, "rank 0's one line is the whole story: the launcher adds none")
        XCTAssertNil(d.summary(status: 0))
        XCTAssertEqual(FailureDigest().summary(status: 143), "the job failed (exit status 143); stopped by signal 15")
    }

    func testRankZerosPreemptionLineGivesTheSavedStepAndPlace() {
        let d = digest("""
        step 41 | loss 3.2
        preempted: checkpoint saved at step 42 in /runs/a b/checkpoints; exiting with status 75 so that the job is requeued (resume with --resume auto)
        """)
        XCTAssertEqual(d.preemptedStep, 42)
        XCTAssertEqual(d.preemptedPath, "/runs/a b/checkpoints")
        XCTAssertNil(digest("checkpoint: saved /r/step-00000042").preemptedStep)
        XCTAssertFalse(d.interrupted)
        // The lines that name the signal: a preemption (75) and a Ctrl-C passed on by launch (130).
        let named = digest("preempted by SIGUSR1: checkpoint saved at step 7 in /r/c; exit status 75 so that the job is requeued (continue with --resume auto)")
        XCTAssertEqual(named.preemptedStep, 7)
        XCTAssertEqual(named.preemptedPath, "/r/c")
        XCTAssertFalse(named.interrupted)
        let interrupted = digest("interrupted by SIGUSR2 (Ctrl-C passed on by pretrain launch): checkpoint saved at step 9 in /r/c; continue with --resume auto (exit status 130)")
        XCTAssertEqual(interrupted.preemptedStep, 9)
        XCTAssertEqual(interrupted.preemptedPath, "/r/c")
        XCTAssertTrue(interrupted.interrupted)
        XCTAssertNil(digest("error: rank 0: preempted: checkpoint saved at step 3 in /r").preemptedStep, "only a line of its own")
    }

    /// The rank that called MPI_Abort (here the watchdog's) is the cause; the other rank's complaint
    /// while the job is torn down is not, although mpirun reports it as the first to fail.
    func testTheRankThatAbortedIsTheCauseNotTheTeardown() {
        let d = digest("""
        error: rank 0: collective #88 allreduce(float32 × 1) has not completed on rank 0 after 20.0 s: rank 1 is stopped (pid 7, state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it; ending the job (training.watchdog_seconds is 20)
        --------------------------------------------------------------------------
        MPI_ABORT was invoked on rank 0 in communicator MPI_COMM_WORLD
        with errorcode 4.
        --------------------------------------------------------------------------
        error: rank 1: rank 1 could not reach rank 0's gradients: rank 0's process is gone (No such process)
        mpirun noticed that process rank 1 with PID 4711 on node n2 exited on signal 9 (Killed).
        """)
        XCTAssertEqual(d.abortingRank, 0)
        XCTAssertEqual(d.summary(status: 4), "the job failed (exit status 4); rank 0 ended the job: collective #88 allreduce(float32 × 1) has not "
                       + "completed on rank 0 after 20.0 s: rank 1 is stopped (pid 7, state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it; "
                       + "ending the job (training.watchdog_seconds is 20)")
    }
}
