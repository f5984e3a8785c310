import Checkpoint
import Foundation
import TestSupport
import XCTest

/// cluster/slurm.sbatch under a real Slurm (slurmctld + slurmd + munged for this machine, started by
/// cluster/ci/slurm-local.sh from a generated slurm.conf and stopped afterwards, also on failure).
final class SlurmBatchScriptTests: XCTestCase {
    /// What both tests need: Slurm's tools on a PATH that has the sbin directories, root, the binary,
    /// and a scratch directory named `name` with a token shard in its data/. nil (after XCTFail
    /// naming the fix) when Slurm is missing or the tests do not run as root.
    func slurmSetUp(_ name: String) throws -> (path: String, pretrain: String, root: String, dir: String, data: String)? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin"
        for tool in ["slurmctld", "slurmd", "sbatch", "scontrol", "scancel", "munged"]
        where !path.split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }) {
            XCTFail("\(tool) is not installed: install Slurm with `apt-get install slurm-wlm munge` (make test does)")
            return nil
        }
        guard getuid() == 0 else {
            XCTFail("the local Slurm cluster needs root (slurmd runs jobs as their users); run the tests as root")
            return nil
        }
        let dir = try LaunchFixtures.temporaryDirectory(name)
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: data)
        return (path, try ProcessRunner.pretrainBinary(), LaunchFixtures.repositoryRoot, dir, data)
    }

    func testBatchScriptTrainsWithMpirunAndSrunAndRequeuesOnStatus75() throws {
        guard let (path, pretrain, root, dir, data) = try slurmSetUp("slurm") else { return }
        let steps = 5
        try LaunchFixtures.write(LaunchFixtures.trainingConfig(dataDir: data, runDir: dir + "/run-mpirun", steps: steps), to: dir, "run.yaml")
        // Stands in for pretrain in the requeue check: "saves and asks to continue" first, then finishes.
        try LaunchFixtures.write("""
            #!/bin/sh
            echo "restart=${SLURM_RESTART_COUNT:-0} $*" >> \(dir)/requeue.log
            [ "${SLURM_RESTART_COUNT:-0}" = 0 ] && exit 75
            exit 0
            """, to: dir, "checkpointing-run", executable: true)
        // Three jobs against one cluster: mpirun inside the allocation, srun with PMIx, and a requeue
        // (Slurm holds a requeued job ~2 minutes before it may start again; the loop lets it start now).
        let driver = try LaunchFixtures.write("""
            #!/bin/bash
            set -u
            cd \(dir)
            echo "slurm dir: $(dirname "$SLURM_CONF")"
            options=$(\(pretrain) launch --config run.yaml --sbatch-options) || exit 10
            PRETRAIN=\(pretrain) sbatch --wait -o mpirun.out $options \(root)/cluster/slurm.sbatch run.yaml
            echo "mpirun job status $?"
            PRETRAIN=\(pretrain) sbatch --wait -o srun.out $options \(root)/cluster/slurm.sbatch run.yaml --launcher srun --set logging.run_dir=\(dir)/run-srun
            echo "srun job status $?"
            # A requeued job waits for a BeginTime, since Slurm revoked its credential: a relaunch within
            # the same second is refused ("Job credential revoked"). Wait 2 s, then start it once.
            job=$(PRETRAIN=\(dir)/checkpointing-run sbatch --parsable -o requeue.out \(root)/cluster/slurm.sbatch run.yaml)
            for _ in $(seq 300); do
              info=$(scontrol show job "$job")
              case "$info" in *JobState=COMPLETED*|*JobState=FAILED*|*JobState=CANCELLED*) break ;; esac
              case "$info" in *JobState=PENDING*Restarts=1*) [ -z "${pushed:-}" ] && sleep 2 && scontrol update jobid="$job" StartTime=now && pushed=1 ;; esac
              sleep 0.2
            done
            echo "requeue job $(scontrol show job "$job" | grep -o 'JobState=[A-Z]*') $(scontrol show job "$job" | grep -o ' ExitCode=[0-9:]*')"
            """, to: dir, "driver.sh", executable: true)

        let start = Date()
        let run = try CommandRun.run(root + "/cluster/ci/slurm-local.sh", [driver], environment: ["PATH": path], timeout: 150)
        let seconds = Date().timeIntervalSince(start)
        let log = run.stdout + run.stderr
        XCTAssertFalse(run.timedOut, log)
        XCTAssertEqual(run.status, 0, log)
        XCTAssertLessThan(seconds, 120, "the Slurm test took \(Int(seconds)) s")

        // Both launchers trained: a loss for every step, on every rank, and the same curve.
        XCTAssertTrue(run.stdout.contains("mpirun job status 0\n"), log)
        XCTAssertTrue(run.stdout.contains("srun job status 0\n"), log)
        let mpirunOut = (try? String(contentsOfFile: dir + "/mpirun.out", encoding: .utf8)) ?? ""
        let srunOut = (try? String(contentsOfFile: dir + "/srun.out", encoding: .utf8)) ?? ""
        XCTAssertTrue(mpirunOut.contains("pretrain launch: mpirun -n 2 "), mpirunOut)
        XCTAssertTrue(srunOut.contains("srun --mpi=pmix --kill-on-bad-exit=1 -n 2 "), srunOut)
        for runDir in ["run-mpirun", "run-srun"] {
            for rank in 0..<2 {
                let losses = try LaunchFixtures.losses(runDir: dir + "/" + runDir, rank: rank)
                XCTAssertEqual(losses.keys.sorted(), Array(1...steps), "\(runDir) rank \(rank)")
            }
        }
        XCTAssertEqual(try LaunchFixtures.losses(runDir: dir + "/run-mpirun"), try LaunchFixtures.losses(runDir: dir + "/run-srun"))

        // Status 75 requeued the job once; the second run resumed (--resume auto) and finished it.
        XCTAssertEqual(try String(contentsOfFile: dir + "/requeue.log", encoding: .utf8),
                       "restart=0 launch --config run.yaml\nrestart=1 launch --config run.yaml --resume auto\n")
        XCTAssertTrue(run.stdout.contains("requeue job JobState=COMPLETED  ExitCode=0:0"), log)

        // The daemons are gone with their directory.
        let slurmDir = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("slurm dir: ") }?.dropFirst(11))
        XCTAssertFalse(FileManager.default.fileExists(atPath: String(slurmDir)))
        let survivors = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
            .filter { ProcessState.commandLine($0).contains(slurmDir) }
        XCTAssertEqual(survivors, [], "daemons still running")
    }

    /// Two ways a job is stopped before its end, each answered by saving, status 75 and a requeue; the
    /// second start resumes and finishes with parameters and AdamW moments bitwise equal to an
    /// uninterrupted job's, and the same loss at every step:
    /// - the time limit: submitted with `--time=1`, the script's own `--signal=B:USR1@120` makes Slurm
    ///   send SIGUSR1 at its first time-limit check (slurmctld checks every 30 s). Rank 0 waits at step 20
    ///   for that signal (`wait-for-signal@0:20`, through the environment sbatch passes on), so the job
    ///   is running when it comes, whatever the check's phase; the requeued start gets a 10-minute limit.
    /// - `scancel --batch --signal=USR1` (what Slurm's `--signal=B:USR1@120` sends before a time limit
    ///   or preemption) once step 19 is logged, rank 0 again waiting at step 20 so that the signal lands
    ///   mid-run however loaded the machine is: the script forwards it to `pretrain launch`, which
    ///   forwards it to every rank.
    /// Both use the smallest model and one uninterrupted reference job (the waits, not the model, make
    /// the signals land mid-run).
    func testTimeLimitAndScancelUSR1RequeueAndTheResumedJobsMatchAnUninterruptedOne() throws {
        guard let (path, pretrain, root, dir, data) = try slurmSetUp("slurm-usr1") else { return }
        let steps = 100
        try LaunchFixtures.write(LaunchFixtures.trainingConfig(dataDir: data, runDir: dir + "/run-ref", steps: steps), to: dir, "run.yaml")
        let driver = try LaunchFixtures.write("""
            #!/bin/bash
            set -u
            cd \(dir)
            # Follows job $1 to its end, printing each change of state; a requeued job waits for a
            # BeginTime (Slurm revoked its credential): after 2 s it is started, with a 10-minute limit.
            follow() {
              local last="" pushed=""
              for _ in $(seq 900); do
                info=$(scontrol show job "$1")
                state=$(echo "$info" | grep -oE 'JobState=[A-Z_]* Reason=[^ ]*|Restarts=[0-9]*' | tr -s '[:space:]' ' ')
                [ "$state" != "$last" ] && echo "state: $state" && last=$state
                case "$info" in *JobState=COMPLETED*Restarts=1*|*JobState=FAILED*|*JobState=CANCELLED*|*JobState=TIMEOUT*) break ;; esac
                case "$info" in *JobState=PENDING*Restarts=1*) [ -z "$pushed" ] && sleep 2 && scontrol update jobid="$1" TimeLimit=10 StartTime=now && pushed=1 ;; esac
                sleep 0.2
              done
              echo "$2 job $(scontrol show job "$1" | grep -o 'JobState=[A-Z]*') $(scontrol show job "$1" | grep -o 'Restarts=[0-9]*')"
            }
            options=$(\(pretrain) launch --config run.yaml --sbatch-options) || exit 10
            PRETRAIN=\(pretrain) sbatch --wait -o ref.out $options \(root)/cluster/slurm.sbatch run.yaml
            echo "reference job status $?"
            start=$(date +%s)
            job=$(PRETRAIN_INJECT_FAULT=wait-for-signal@0:20 PRETRAIN=\(pretrain) sbatch --parsable --time=1 -o limit.out $options \(root)/cluster/slurm.sbatch run.yaml --set logging.run_dir=\(dir)/run-limit)
            follow "$job" time-limited
            echo "time-limited job took $(( $(date +%s) - start )) s"
            job=$(PRETRAIN_INJECT_FAULT=wait-for-signal@0:20 PRETRAIN=\(pretrain) sbatch --parsable -o pre.out $options \(root)/cluster/slurm.sbatch run.yaml --set logging.run_dir=\(dir)/run-pre)
            for _ in $(seq 1200); do grep -q '"step": *19[,}]' run-pre/metrics/rank-00000.jsonl 2>/dev/null && break; sleep 0.05; done
            scancel --batch --signal=USR1 "$job"
            echo "signalled"
            follow "$job" preempted
            """, to: dir, "driver.sh", executable: true)

        let run = try CommandRun.run(root + "/cluster/ci/slurm-local.sh", [driver], environment: ["PATH": path], timeout: 300)
        let log = run.stdout + run.stderr
        XCTAssertFalse(run.timedOut, log)
        XCTAssertEqual(run.status, 0, log)
        XCTAssertTrue(run.stdout.contains("\nreference job status 0\n"), log)
        XCTAssertTrue(run.stdout.contains("time-limited job JobState=COMPLETED Restarts=1"), log)
        XCTAssertTrue(run.stdout.contains("preempted job JobState=COMPLETED Restarts=1"), log)

        for (out, runDir) in [("limit.out", "run-limit"), ("pre.out", "run-pre")] {
            let saved = try assertResumedAndEqual(out: dir + "/" + out, runDir: dir + "/" + runDir, reference: dir + "/run-ref", steps: steps, log: log)
            XCTAssertEqual(saved, 20, "rank 0 waited at step 20 for the signal (\(out))")
            XCTAssertTrue(((try? String(contentsOfFile: dir + "/" + out, encoding: .utf8)) ?? "").contains("rank 0: injected fault: waiting at step 20 for a stop signal"), out)
        }
    }

    /// The job whose output is `out` was stopped by SIGUSR1, saved at step N, asked to be run again
    /// (75), was requeued and resumed at N, and ended bitwise equal to `reference` with the same loss
    /// at every step, each logged once. Returns N.
    @discardableResult
    func assertResumedAndEqual(out: String, runDir: String, reference: String, steps: Int, log: String,
                               file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let log = log + "\n--- \(out) without step lines ---\n" + text.split(separator: "\n").filter { !$0.hasPrefix("step ") }.joined(separator: "\n")
        let prefix = "preempted by SIGUSR1: checkpoint saved at step "
        let saved = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix(prefix) }, log, file: file, line: line)
        let step = try XCTUnwrap(Int(saved.dropFirst(prefix.count).prefix { $0.isNumber }), log, file: file, line: line)
        XCTAssertTrue(text.contains("pretrain launch: the job stopped after SIGUSR1 with its checkpoint saved at step \(step) in "), log, file: file, line: line)
        XCTAssertTrue(text.contains("the run saved a checkpoint and asked to continue (exit 75); requeueing job"), log, file: file, line: line)
        XCTAssertTrue(text.contains("checkpoint: resumed from \(runDir)/checkpoints/\(CheckpointStore.name(step: step)) at step \(step)"), log, file: file, line: line)

        let expected = try CheckpointFixtures.buffers(reference + "/checkpoints")
        let resumed = try CheckpointFixtures.buffers(runDir + "/checkpoints")
        XCTAssertEqual(expected.step, steps, file: file, line: line)
        XCTAssertEqual(resumed.step, steps, file: file, line: line)
        XCTAssertTrue(CheckpointFixtures.bits(resumed.params) == CheckpointFixtures.bits(expected.params), "parameters bitwise", file: file, line: line)
        XCTAssertTrue(CheckpointFixtures.bits(resumed.m) == CheckpointFixtures.bits(expected.m), "AdamW m bitwise", file: file, line: line)
        XCTAssertTrue(CheckpointFixtures.bits(resumed.v) == CheckpointFixtures.bits(expected.v), "AdamW v bitwise", file: file, line: line)
        let a = try LaunchFixtures.losses(runDir: reference), b = try LaunchFixtures.losses(runDir: runDir)
        XCTAssertEqual(b.keys.sorted(), Array(1...steps), "every step's loss was logged once", file: file, line: line)
        XCTAssertTrue(a == b, "the same loss at every step", file: file, line: line)
        return step
    }
}
