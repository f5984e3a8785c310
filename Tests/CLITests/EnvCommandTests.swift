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
}
