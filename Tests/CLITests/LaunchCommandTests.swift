import Checkpoint
import Foundation
import TestSupport
import XCTest

/// `pretrain launch` as a user runs it: dry runs, one-line errors, real jobs, signals.
final class LaunchCommandTests: XCTestCase {
    var pretrain = ""
    var dir = ""
    static let tuning = "--mca pml ob1 --mca coll_tuned_use_dynamic_rules 1 --mca coll_tuned_allreduce_algorithm 5 --mca coll_tuned_allreduce_algorithm_segmentsize 1048576"

    override func setUpWithError() throws {
        pretrain = try ProcessRunner.pretrainBinary()
        dir = try LaunchFixtures.temporaryDirectory("command")
    }

    /// The test's environment without the variables a launch forwards or tunes, plus `extra`.
    func cleanEnvironment(_ extra: [String: String] = [:]) -> [String: String] { LaunchFixtures.cleanEnvironment(extra) }

    func launch(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil, timeout: TimeInterval = 120) throws -> CommandRun.Result {
        try CommandRun.run(pretrain, ["launch"] + arguments, environment: cleanEnvironment(environment), directory: directory, timeout: timeout)
    }

    /// A config for the small training run, with `extra` launch keys.
    func trainingConfig(steps: Int, extra: String = "", name: String = "run.yaml") throws -> (config: String, runDir: String) {
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: data)
        let runDir = dir + "/run-" + name
        let config = try LaunchFixtures.write(LaunchFixtures.trainingConfig(dataDir: data, runDir: runDir, steps: steps, extra: extra), to: dir, name)
        return (config, runDir)
    }

    // MARK: - Dry runs

    func testDryRunPrintsTheExactCommandForTinyYaml() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let run = try launch(["--config", "configs/tiny.yaml", "--dry-run"], environment: ["OPENBLAS_CORETYPE": "Haswell"],
                             directory: LaunchFixtures.repositoryRoot)
        XCTAssertEqual(run.status, 0, run.stderr)
        let threads = max(1, cores / 2)
        let expected = "mpirun -n 2" + (cores < 2 ? " --oversubscribe" : "") + " --bind-to none"
            + (getuid() == 0 ? " --allow-run-as-root" : "")
            + " -x OMP_NUM_THREADS=\(threads) -x OPENBLAS_CORETYPE=Haswell -x OPENBLAS_NUM_THREADS=\(threads) " + Self.tuning
            + " \(pretrain) train --config configs/tiny.yaml\n"
        XCTAssertEqual(run.stdout, expected)
    }

    func testDryRunCarriesOverridesAndTheRankCommand() throws {
        let (config, _) = try trainingConfig(steps: 3)
        let run = try launch(["--config", config, "--set", "optimizer.lr=1e-3", "--dry-run"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.hasSuffix(" \(pretrain) train --config \(config) --set optimizer.lr=1e-3\n"), run.stdout)
        let selftest = try launch(["--config", config, "--dry-run", "--", "selftest", "comm"])
        XCTAssertTrue(selftest.stdout.hasSuffix(" \(pretrain) selftest comm\n"), selftest.stdout)
    }

    func testSbatchOptionsComeFromTheConfig() throws {
        let (config, _) = try trainingConfig(steps: 3, extra: "num_machines: 1")
        let run = try launch(["--config", config, "--sbatch-options", "--set", "threads_per_process=2"])
        XCTAssertEqual(run.stdout, "--nodes=1 --ntasks=2 --ntasks-per-node=2 --cpus-per-task=2\n")
    }

    // MARK: - Bad input: one line each, naming what and how to fix it

    func assertOneLineError(_ arguments: [String], environment: [String: String] = [:], contains expected: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try launch(arguments + ["--dry-run"], environment: environment)
        XCTAssertNotEqual(run.status, 0, file: file, line: line)
        XCTAssertEqual(run.stdout, "", file: file, line: line)
        XCTAssertEqual(run.errorLines.count, 1, run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.hasPrefix("error: "), run.stderr, file: file, line: line)
        XCTAssertTrue(run.stderr.contains(expected), "\(run.stderr) lacks \(expected)", file: file, line: line)
    }

    func testBadInputIsOneLineWithTheFix() throws {
        let (config, _) = try trainingConfig(steps: 3)
        let base = try String(contentsOfFile: config, encoding: .utf8)
        func variant(_ name: String, _ text: String) throws -> String { try LaunchFixtures.write(text, to: dir, name) }

        try assertOneLineError(["--config", dir + "/missing.yaml"],
                               contains: "missing.yaml: no such config file; write one with `pretrain config --defaults --out")
        try assertOneLineError(["--config", try variant("bad.yaml", "model:\n  n_layer: [1, 2\n")], contains: "bad.yaml: invalid YAML: line ")
        try assertOneLineError(["--config", try variant("unknown.yaml", base.replacingOccurrences(of: "training:\n", with: "training:\n  step: 3\n"))],
                               contains: "unknown key `training.step`; did you mean `training.steps`?")
        try assertOneLineError(["--config", try variant("type.yaml", base.replacingOccurrences(of: "n_layer: 2", with: "n_layer: two"))],
                               contains: "model.n_layer is 'two'; expected integer in 1…2147483647")
        try assertOneLineError(["--config", config, "--set", "training.global_batch=13"],
                               contains: "training.global_batch 13 does not split evenly over 2 processes; use a multiple of 2 (e.g. 12 or 14)")

        let noHostfile = try variant("nohosts.yaml", base + "num_machines: 2\nmpirun_config:\n  mpirun_hostfile: \(dir)/hosts\n")
        try assertOneLineError(["--config", noHostfile], contains: "\(dir)/hosts: no such hostfile (mpirun_config.mpirun_hostfile); write one line per machine like `node1 slots=4`")
        try LaunchFixtures.write("alpha\nbeta slots=1\n", to: dir, "hosts")
        try assertOneLineError(["--config", noHostfile], contains: "\(dir)/hosts:1: host alpha names no slots; write `alpha slots=N`")
        try LaunchFixtures.write("alpha slots=1\nbeta slots=1\n", to: dir, "hosts")
        try assertOneLineError(["--config", noHostfile, "--set", "num_processes=4"],
                               contains: "num_processes 4 is more than the 2 slots in hostfile \(dir)/hosts; lower num_processes, raise slots= in the hostfile, or pass --oversubscribe")

        try assertOneLineError(["--config", config], environment: ["PATH": dir + "/empty-path"],
                               contains: "mpirun not found on PATH; install OpenMPI (`sudo apt-get install openmpi-bin`)")
        try assertOneLineError(["--config", config, "--launcher", "slurm"], contains: "--launcher slurm is not a launcher; use auto, mpirun or srun")
    }

    // MARK: - Real jobs

    func testLaunchTrainsOnTwoRanks() throws {
        let (config, runDir) = try trainingConfig(steps: 4)
        let run = try launch(["--config", config])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("pretrain launch: mpirun -n 2 "), run.stderr)
        XCTAssertTrue(run.stdout.contains("done: 4 steps"), run.stdout)
        for rank in 0..<2 {
            let losses = try LaunchFixtures.losses(runDir: runDir, rank: rank)
            XCTAssertEqual(losses.keys.sorted(), [1, 2, 3, 4], "rank \(rank)")
            XCTAssertTrue(losses.values.allSatisfy { $0.isFinite && $0 > 0 })
        }
    }

    /// `make pretrain` a second time with another logging.run_dir (configs/tiny.yaml as it is, with
    /// `--resume auto`): the checkpoints follow the run directory, so the second run trains afresh in
    /// its own directory and the first run's files stay byte for byte as they were.
    func testASecondTinyRunWithAnotherRunDirLeavesTheFirstAlone() throws {
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: data)
        func tiny(_ runDir: String) throws -> CommandRun.Result {
            try launch(["--config", LaunchFixtures.repositoryRoot + "/configs/tiny.yaml", "--resume", "auto",
                        "--set", "data.train=\(data)/train_*.bin", "--set", "data.val=", "--set", "data.tokenizer=",
                        "--set", "training.steps=2", "--set", "logging.run_dir=\(runDir)"])
        }
        func files(_ root: String) throws -> [String: Data] {
            let paths = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? []
            var contents: [String: Data] = [:]
            for path in paths where !path.hasPrefix("heartbeat") {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    contents[path] = try Data(contentsOf: URL(fileURLWithPath: root + "/" + path))
                }
            }
            return contents
        }
        let first = dir + "/first", second = dir + "/second"
        let one = try tiny(first)
        XCTAssertEqual(one.status, 0, one.stderr)
        let before = try files(first)
        XCTAssertNotNil(before["checkpoints/step-00000002/manifest.json"], "\(before.keys.sorted())")
        let two = try tiny(second)
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stdout.contains("done: 2 steps"), two.stdout)
        XCTAssertFalse(two.stdout.contains("resumed from"), two.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: second + "/checkpoints/step-00000002/manifest.json"), two.stdout)
        XCTAssertEqual(try files(first), before, "the first run's files are untouched")
    }

    func testAFailingRankEndsTheJobWithThatRanksMessage() throws {
        let (config, _) = try trainingConfig(steps: 3)
        let start = Date()
        let run = try launch(["--config", config, "--", "selftest", "comm", "--corrupt-rank", "1", "--sizes", "7"], timeout: 90)
        XCTAssertFalse(run.timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 60)
        XCTAssertEqual(run.status, 1)
        let last = try XCTUnwrap(run.errorLines.last)
        XCTAssertTrue(last.hasPrefix("error: the job failed (exit status 1); rank "), last)
        // Rank 1's own first report, as it printed it, must be in the summary next to its rank.
        let own = try XCTUnwrap(run.errorLines.first { $0.hasPrefix("rank 1: ") }).dropFirst("rank 1: ".count)
        XCTAssertTrue(last.contains("rank 1 exited with status 1: \(own)") || last.contains("rank 1: \(own)"), last)
    }

    /// A setting every rank refuses (data.train matching no file, found by the ranks, not by launch):
    /// one `error:` line naming the key and the pattern, status 2, and none of OpenMPI's notices about
    /// non-zero exit statuses around it (the launcher drops them and adds no summary of its own).
    func testAnErrorOnEveryRankIsOneLineWithoutOpenMPIsBanner() throws {
        let (config, _) = try trainingConfig(steps: 3)
        let run = try launch(["--config", config, "--set", "data.train=\(dir)/nothing/train_*.bin"], timeout: 90)
        XCTAssertEqual(run.status, 2, run.stderr)
        let lines = run.errorLines.filter { !$0.hasPrefix("pretrain launch: mpirun ") }
        XCTAssertEqual(lines.count, 1, run.stderr)
        let line = lines.first ?? ""
        // Rank 0 reports errors every rank shares. When another rank exits first, mpirun may end rank 0
        // before it prints (TrainCommand's race, not the launcher's): then the launcher's summary is the line.
        if line.hasPrefix("error: the job failed (exit status 2); rank ") {
            print("rank 0 was ended before it printed; the launcher's summary stood in: \(line)")
        } else {
            XCTAssertTrue(line.hasPrefix("error: data.train \(dir)/nothing/train_*.bin matches no files; "), run.stderr)
        }
        for banner in ["Primary job", "non-zero", "-----", "Process name", "Exit code"] {
            XCTAssertFalse(run.stderr.contains(banner) || run.stdout.contains(banner), "\(banner): \(run.stderr)")
        }
    }

    // MARK: - Signals

    /// A stand-in for mpirun that records the signals it gets; unless `ignoringStop`, it ends (status 7,
    /// not the preemption status) at its second SIGUSR1, or at a SIGTERM.
    func fakeMpirun(ignoringStop: Bool) throws -> String {
        try LaunchFixtures.write("""
            #!/bin/sh
            stop() { kill -9 $(cat \(dir)/rank); exit 7; }
            \(ignoringStop ? "trap '' TERM" : "trap 'echo TERM >> \(dir)/signals; stop' TERM")
            \(ignoringStop ? "trap 'echo USR1 >> \(dir)/signals' USR1"
                          : "trap 'echo USR1 >> \(dir)/signals; [ $(wc -l < \(dir)/signals) -ge 2 ] && stop' USR1")
            setsid sh -c 'echo $$ > \(dir)/rank; trap "" TERM; exec sleep 120' &
            while [ ! -s \(dir)/rank ]; do sleep 0.02; done
            printf '%s\\n' "$*" > \(dir)/arguments
            while :; do sleep 0.05; done
            """, to: dir, "fake-mpirun", executable: true)
    }

    func file(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }

    /// mpirun aborts on its own SIGTERM (status 1, ranks killed 1 s later): a SIGTERM reaches it as the
    /// SIGUSR1 it passes on to every rank.
    func testUSR1AndTERMReachMpirunAsUSR1AndTheStatusIsTheJobs() throws {
        let (config, _) = try trainingConfig(steps: 3)
        let mpirun = try fakeMpirun(ignoringStop: false)
        let job = try CommandRun(pretrain, ["launch", "--config", config, "--mpirun", mpirun], environment: cleanEnvironment())
        XCTAssertTrue(CommandRun.waitUntil(timeout: 30) { !file("arguments").isEmpty })
        XCTAssertTrue(file("arguments").hasPrefix("-n 2 --bind-to none"), file("arguments"))
        job.signal(SIGUSR1)
        XCTAssertTrue(CommandRun.waitUntil(timeout: 10) { file("signals") == "USR1\n" }, file("signals"))
        job.signal(SIGTERM)
        let run = job.wait(timeout: 30)
        XCTAssertEqual(file("signals"), "USR1\nUSR1\n")
        XCTAssertEqual(run.status, 7)
        XCTAssertEqual(run.errorLines.last, "error: the job stopped after SIGTERM with exit status 7")
        if let rank = pid_t(file("rank").trimmingCharacters(in: .whitespacesAndNewlines)) {
            XCTAssertTrue(CommandRun.waitUntil(timeout: 5) { ProcessState.isGone(rank) }, "rank stand-in \(rank) survived")
        }
    }

    func testAJobThatIgnoresTERMIsKilledAfterTheGracePeriod() throws {
        let (config, _) = try trainingConfig(steps: 3)
        let mpirun = try fakeMpirun(ignoringStop: true)
        let job = try CommandRun(pretrain, ["launch", "--config", config, "--mpirun", mpirun, "--grace-period", "1"], environment: cleanEnvironment())
        XCTAssertTrue(CommandRun.waitUntil(timeout: 30) { !file("arguments").isEmpty })
        let rank = try XCTUnwrap(pid_t(file("rank").trimmingCharacters(in: .whitespacesAndNewlines)))
        let start = Date()
        job.signal(SIGTERM)
        let run = job.wait(timeout: 30)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertTrue(run.stderr.contains("pretrain launch: the job did not stop within 1.0 s of the signal; killing it\n"), run.stderr)
        XCTAssertEqual(run.status, 137)
        XCTAssertEqual(run.errorLines.last, "error: the job stopped after SIGTERM (killed) with exit status 137")
        XCTAssertTrue(CommandRun.waitUntil(timeout: 5) { ProcessState.isGone(rank) }, "rank stand-in \(rank) survived")
    }

    /// The issue's command: `pretrain launch --config configs/tiny.yaml … & sleep; kill -TERM $!; wait $!`
    /// (here with a small model and the fixture shard): every rank saves at the next step boundary and
    /// the launch ends with the preemption status 75, saying so once, with no error line.
    func testSIGTERMToLaunchSavesOnEveryRankAndExitsWith75() throws {
        let (runDir, job) = try tinyJob(["--grace-period", "60"], name: "term")
        let ranks = ProcessState.descendants(of: job.process.processIdentifier).filter { ProcessState.commandLine($0).hasPrefix(pretrain + " train") }
        XCTAssertEqual(ranks.count, 2, "ranks: \(ranks)")
        job.signal(SIGTERM)
        let run = job.wait(timeout: 90)
        try assertPreempted(run, runDir: runDir, signal: "SIGTERM", rankSaid: "preempted by SIGUSR1", status: 75)
        for rank in ranks { XCTAssertTrue(CommandRun.waitUntil(timeout: 10) { ProcessState.isGone(rank) }, "rank \(rank) survived") }
    }

    /// A run that would take hours says so after its first steps: the estimate line (from steps 2-4)
    /// and a warning that names the levers; here a billion steps of the small model (over an hour at
    /// any speed under 270,000 steps a second), stopped after step 5.
    func testALongRunPrintsItsEstimateAndAWarning() throws {
        let (runDir, job) = try tinyJob(["--set", "training.steps=1000000000"], name: "long")
        XCTAssertTrue(CommandRun.waitUntil(timeout: 60) {
            ((try? String(contentsOfFile: runDir + "/metrics/rank-00000.jsonl", encoding: .utf8)) ?? "").contains("\"step\":5,")
        })
        job.signal(SIGTERM)
        let run = job.wait(timeout: 90)
        let estimate = try XCTUnwrap(run.stdout.split(separator: "\n").first { $0.hasPrefix("estimate: ") }, run.stdout)
        XCTAssertTrue(estimate.contains(" s/step (steps 2-4), 1000000000 steps ≈ "), String(estimate))
        let warnings = run.errorLines.filter { $0.hasPrefix("warning: this run would take about ") }
        XCTAssertEqual(warnings.count, 1, run.stderr)
        XCTAssertTrue(warnings.first?.hasSuffix("(1000000000 steps × \(estimate.split(separator: " ")[1]) s); for a quicker one lower "
                      + "training.steps, or pick a smaller model (model.preset: tiny) or training.seq_len") ?? false, run.stderr)
    }

    /// Ctrl-C: the same save, and status 130 (an interrupt, which nothing requeues), said by the rank
    /// and by launch alike; one process gets the SIGINT itself, mpirun's ranks get SIGUSR2 (mpirun's own
    /// SIGINT would abort the job).
    func testCtrlCToALaunchSavesAndExitsWith130() throws {
        let (runDir, job) = try tinyJob(["--set", "distributed_type=NO", "--set", "num_processes=1"], name: "int")
        job.signal(SIGINT)
        try assertPreempted(job.wait(timeout: 90), runDir: runDir, signal: "SIGINT", rankSaid: "interrupted by SIGINT", status: 130)
        let (runDir2, job2) = try tinyJob(["--grace-period", "60"], name: "int2")
        job2.signal(SIGINT)
        try assertPreempted(job2.wait(timeout: 90), runDir: runDir2, signal: "SIGINT",
                            rankSaid: "interrupted by SIGUSR2 (Ctrl-C passed on by pretrain launch)", status: 130)
    }

    /// One rank stopped with SIGSTOP: the watchdog names it every time (its heartbeat alone may show it
    /// inside the collective), nothing blames the transport, and launch's summary repeats the cause.
    func testAStoppedRankIsNamedByTheWatchdogAndLaunchRepeatsIt() throws {
        let (_, job) = try tinyJob(["--set", "training.watchdog_seconds=3"], name: "stop")
        let ranks = ProcessState.descendants(of: job.process.processIdentifier).filter { ProcessState.commandLine($0).hasPrefix(pretrain + " train") }
        let rank1 = try XCTUnwrap(ranks.first { pid in
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            return environ.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=1" }
        }, "ranks: \(ranks)")
        let start = Date()
        kill(rank1, SIGSTOP)
        defer { kill(rank1, SIGKILL) }
        let run = job.wait(timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(start), 25, "ended by the watchdog, not the test's timeout")
        XCTAssertNotEqual(run.status, 0)
        let stopped = "rank 1 is stopped (pid \(rank1), state T: SIGSTOP, Ctrl-Z or a debugger); SIGCONT resumes it"
        let own = run.errorLines.first { $0.hasPrefix("error: rank 0: collective") } ?? ""
        XCTAssertTrue(own.contains(stopped), run.stderr)
        let last = run.errorLines.last ?? ""
        XCTAssertTrue(last.hasPrefix("error: the job failed (exit status \(run.status)); rank 0 ended the job: collective") && last.contains(stopped), run.stderr)
        XCTAssertFalse(run.stderr.contains("PRETRAIN_SINGLE_NODE_ALLREDUCE"), run.stderr)
    }

    /// `configs/tiny.yaml` made small (fixture shard, tiny model, no tokenizer, endless steps), launched
    /// and trained until rank 0 has logged a step.
    func tinyJob(_ extra: [String], name: String) throws -> (runDir: String, job: CommandRun) {
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: data)
        let runDir = dir + "/tiny-" + name
        let settings = ["data.train=\(data)/train_*.bin", "data.val=", "data.tokenizer=", "model.vocab_size=64", "model.max_seq_len=16",
                        "model.n_layer=2", "model.n_head=2", "model.d_model=32", "training.seq_len=16", "training.micro_batch=4",
                        "training.global_batch=8", "training.steps=100000", "training.eval_interval=0", "threads_per_process=1",
                        "logging.run_dir=\(runDir)", "logging.interval=1", "checkpoint.dir=\(runDir)/checkpoints"]
        let job = try CommandRun(pretrain, ["launch", "--config", "configs/tiny.yaml"] + settings.flatMap { ["--set", $0] } + extra,
                                 environment: cleanEnvironment(), directory: LaunchFixtures.repositoryRoot)
        let metrics = runDir + "/metrics/rank-00000.jsonl"
        XCTAssertTrue(CommandRun.waitUntil(timeout: 60) { ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").contains("\"loss\"") })
        return (runDir, job)
    }

    /// `status`, rank 0's line (`rankSaid`) and the launcher's line naming the step of the newest
    /// complete checkpoint on disk and the same status, and no error line.
    func assertPreempted(_ run: CommandRun.Result, runDir: String, signal: String, rankSaid: String, status: Int32,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(run.timedOut, file: file, line: line)
        XCTAssertEqual(run.status, status, run.stderr, file: file, line: line)
        let saved = try XCTUnwrap(CheckpointStore(root: runDir + "/checkpoints").complete().last, run.stderr, file: file, line: line)
        XCTAssertNoThrow(try CheckpointReader(path: saved.path).verify(), file: file, line: line)
        let rank = status == 75 ? "exit status 75 so that the job is requeued (continue with --resume auto)" : "continue with --resume auto (exit status 130)"
        XCTAssertTrue(run.stderr.contains("\(rankSaid): checkpoint saved at step \(saved.step) in \(runDir)/checkpoints; \(rank)"), run.stderr, file: file, line: line)
        XCTAssertEqual(run.errorLines.last, "pretrain launch: the job stopped after \(signal) with its checkpoint saved at step \(saved.step) "
                       + "in \(runDir)/checkpoints; exit status \(status) \(status == 75 ? "(requeue it, or continue with --resume auto)" : "(continue with --resume auto)")",
                       file: file, line: line)
        XCTAssertFalse(run.errorLines.contains { $0.hasPrefix("error:") }, run.stderr, file: file, line: line)
    }

    /// A plain mpirun job: SIGUSR1 to mpirun reaches every rank, which save and exit 75, and mpirun
    /// returns 75. (mpirun's own SIGTERM is OpenMPI's abort, status 1: preempt it with SIGUSR1.)
    func testSIGUSR1ToAPlainMpirunJobSavesAndExitsWith75() throws {
        let (config, runDir) = try trainingConfig(steps: 100_000)
        let job = try CommandRun("/usr/bin/env", ["mpirun", "-n", "2"] + ProcessRunner.mpirunFlags + [pretrain, "train", "--config", config],
                                 environment: cleanEnvironment())
        let metrics = runDir + "/metrics/rank-00000.jsonl"
        XCTAssertTrue(CommandRun.waitUntil(timeout: 60) { ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").contains("\"loss\"") })
        job.signal(SIGUSR1)
        let run = job.wait(timeout: 90)
        XCTAssertEqual(run.status, 75, run.stderr)
        let saved = try XCTUnwrap(CheckpointStore(root: runDir + "/checkpoints").complete().last, run.stderr)
        XCTAssertTrue(run.stderr.contains("preempted by SIGUSR1: checkpoint saved at step \(saved.step) in "), run.stderr)
    }
}
