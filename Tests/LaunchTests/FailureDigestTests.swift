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

    func testSignalReport() {
        let d = digest("mpirun noticed that process rank 3 with PID 4711 on node n2 exited on signal 9 (Killed).")
        XCTAssertEqual(d.failedRank, 3)
        XCTAssertEqual(d.failedSignal, "9 (Killed)")
        XCTAssertEqual(d.summary(status: 137), "the job failed (exit status 137); rank 3 was killed by signal 9 (Killed)")
    }

    func testPlainErrorFromRankZeroAndSuccess() {
        let d = digest("error: data.train: no files match /x/train_*.bin")
        XCTAssertEqual(d.errors, ["data.train: no files match /x/train_*.bin"])
        XCTAssertEqual(d.summary(status: 2), "the job failed (exit status 2); data.train: no files match /x/train_*.bin")
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
    }
}
