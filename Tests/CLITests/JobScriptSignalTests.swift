import Checkpoint
import Foundation
import TestSupport
import XCTest

/// A scheduler that ends a job signals every process of it at once: Slurm at the time limit (or on a
/// plain `scancel`) through the job's cgroup, PBS on `qdel` or at the walltime through its session.
/// The batch script, `pretrain launch`, mpirun and the ranks all get SIGTERM. mpirun answers its own
/// SIGTERM by aborting (status 1, whatever the ranks' statuses; SIGKILL to the ranks 1 s after its
/// SIGTERM), the script's trap forwards the same SIGTERM to `pretrain launch` again, and the ranks,
/// signalled directly, save at the next step boundary; rank 0 then leaves `run_dir/preempted`. The
/// job must still end with 75 and a complete checkpoint.
final class JobScriptSignalTests: XCTestCase {
    func testSIGTERMToEveryProcessOfTheBatchScriptEndsItWith75AndACheckpoint() throws {
        let pretrain = try ProcessRunner.pretrainBinary()
        let dir = try LaunchFixtures.temporaryDirectory("job-term")
        let data = dir + "/data", runDir = dir + "/run"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: data)
        let config = try LaunchFixtures.write(LaunchFixtures.trainingConfig(dataDir: data, runDir: runDir, steps: 100_000), to: dir, "run.yaml")
        // Outside Slurm (no SLURM_JOB_ID) the script ends with the launch's status instead of requeueing.
        let job = try CommandRun("/bin/bash", [LaunchFixtures.repositoryRoot + "/cluster/slurm.sbatch", config],
                                 environment: LaunchFixtures.cleanEnvironment(["PRETRAIN": pretrain]), directory: dir)
        let metrics = runDir + "/metrics/rank-00000.jsonl"
        XCTAssertTrue(CommandRun.waitUntil(timeout: 60) { ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").contains("\"loss\"") })
        let script = job.process.processIdentifier
        let everyone = [script] + ProcessState.descendants(of: script)
        let commands = everyone.map(ProcessState.commandLine)
        XCTAssertEqual(commands.filter { $0.hasPrefix(pretrain + " train") }.count, 2, "\(commands)")
        XCTAssertTrue(commands.contains { $0.split(separator: " ").first?.hasSuffix("mpirun") ?? false }, "\(commands)")
        for pid in everyone { kill(pid, SIGTERM) }

        let run = job.wait(timeout: 90)
        XCTAssertFalse(run.timedOut)
        XCTAssertEqual(run.status, 75, run.stderr)
        let saved = try XCTUnwrap(CheckpointStore(root: runDir + "/checkpoints").complete().last, run.stderr)
        XCTAssertNoThrow(try CheckpointReader(path: saved.path).verify())
        // The ranks name the first stop signal that reaches them: their own SIGTERM, or the SIGUSR1 that
        // `pretrain launch` passes through mpirun for the SIGTERM it got first (which comes first is
        // the scheduler's order, and under load either does).
        let marker = try String(contentsOfFile: runDir + "/preempted", encoding: .utf8)
        XCTAssertTrue(["SIGTERM", "SIGUSR1"].contains {
            marker.hasPrefix("preempted at step \(saved.step): preempted by \($0): checkpoint saved at step \(saved.step) in \(runDir)/checkpoints;")
        }, marker)
        XCTAssertTrue(run.stderr.contains("pretrain launch: the job stopped after SIGTERM with its checkpoint saved at step \(saved.step) in \(runDir)/checkpoints; exit status 75"),
                      run.stderr)
        XCTAssertFalse(run.stderr.contains("killing the job now"), "one stop, arriving twice, is not a second signal: \(run.stderr)")
        XCTAssertFalse(run.errorLines.contains { $0.hasPrefix("error:") }, run.stderr)
    }
}
