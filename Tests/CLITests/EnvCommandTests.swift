import Config
import Foundation
import TestSupport
import XCTest

/// `pretrain env --config`: the machine, the launch command and the resolved config.
final class EnvCommandTests: XCTestCase {
    func testWithAConfigItPrintsTheLaunchCommandAndTheResolvedConfig() throws {
        let dir = try LaunchFixtures.temporaryDirectory("env")
        let config = try LaunchFixtures.write("num_processes: 2\ntraining:\n  steps: 9\n", to: dir, "run.yaml")
        let run = try CommandRun.run(try ProcessRunner.pretrainBinary(), ["env", "--config", config, "--set", "optimizer.lr=0.002"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("launch ") && $0.contains("mpirun -n 2 ") && $0.hasSuffix("train --config \(config) --set optimizer.lr=0.002") }, run.stdout)
        let header = try XCTUnwrap(lines.firstIndex(of: "# resolved config: \(config) --set optimizer.lr=0.002"))
        var expected = RunConfig()
        expected.training.steps = 9
        expected.optimizer.lr = 0.002
        XCTAssertEqual(lines[(header + 1)...].joined(separator: "\n"), ConfigLoader.render(expected))
    }

    func testABadConfigIsOneLineAndSetNeedsAConfig() throws {
        let pretrain = try ProcessRunner.pretrainBinary()
        let missing = try CommandRun.run(pretrain, ["env", "--config", "/nonexistent/run.yaml"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertEqual(missing.errorLines, ["error: /nonexistent/run.yaml: no such config file; write one with `pretrain config --defaults --out /nonexistent/run.yaml` or check the path"])
        let set = try CommandRun.run(pretrain, ["env", "--set", "optimizer.lr=1"])
        XCTAssertEqual(set.errorLines, ["error: --set needs --config FILE (the config to override)"])
    }

    /// `--version` and `env` name the commit the binary was built from (a commit of this clone, as git
    /// knows it; "unknown" only outside a clone) and the exact Swift version (`swift --version`).
    func testVersionAndEnvNameTheCommitAndTheExactSwiftVersion() throws {
        let pretrain = try ProcessRunner.pretrainBinary(), root = LaunchFixtures.repositoryRoot
        let swift = try CommandRun.run("/usr/bin/env", ["swift", "--version"])
        let swiftLine = try XCTUnwrap(swift.stdout.split(separator: "\n").first.map(String.init), swift.stderr)
        XCTAssertTrue(swiftLine.hasPrefix("Swift version "), swiftLine)
        let version = try CommandRun.run(pretrain, ["--version"])
        XCTAssertEqual(version.status, 0, version.stderr)
        let line = version.stdout.trimmingCharacters(in: .newlines)
        let prefix = "pretrain 0.1.0 (commit "
        XCTAssertTrue(line.hasPrefix(prefix) && line.hasSuffix(", \(swiftLine))"), line)
        let commit = String(line.dropFirst(prefix.count).prefix { $0 != "," })
        if FileManager.default.fileExists(atPath: root + "/.git") {
            let hash = commit.hasSuffix("-dirty") ? String(commit.dropLast(6)) : commit
            XCTAssertEqual(hash.count, 12, commit)
            let known = try CommandRun.run("/usr/bin/env", ["git", "-C", root, "cat-file", "-t", hash])
            XCTAssertEqual(known.stdout, "commit\n", "\(hash) is a commit of this clone: \(known.stderr)")
        } else {
            XCTAssertEqual(commit, "unknown")
        }
        let env = try CommandRun.run(pretrain, ["env"])
        XCTAssertEqual(env.status, 0, env.stderr)
        let rows = env.stdout.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) } }
        XCTAssertTrue(rows.contains(["swift", swiftLine]), env.stdout)
        XCTAssertTrue(rows.contains(["pretrain", "0.1.0, commit \(commit)"]), env.stdout)
    }
}
