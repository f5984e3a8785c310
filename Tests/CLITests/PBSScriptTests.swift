import Foundation
import TestSupport
import XCTest

/// cluster/pbs.sh outside PBS: a node file as PBS writes it becomes the hostfile of the launch.
final class PBSScriptTests: XCTestCase {
    func testNodeFileBecomesHostfileMachinesAndRanks() throws {
        let dir = try LaunchFixtures.temporaryDirectory("pbs")
        try LaunchFixtures.write("n1\nn2\nn1\nn2\nn1\nn2\n", to: dir, "nodefile")
        let config = try LaunchFixtures.write("num_processes: 1\n", to: dir, "run.yaml")
        let run = try CommandRun.run("/bin/bash", [LaunchFixtures.repositoryRoot + "/cluster/pbs.sh"], environment: [
            "PBS_O_WORKDIR": dir, "PBS_NODEFILE": dir + "/nodefile", "PBS_JOBID": "17.server", "CONFIG": config,
            "PRETRAIN": try ProcessRunner.pretrainBinary(), "LAUNCH_ARGS": "--dry-run",
        ])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "pbs job 17.server: 2 machine(s), 6 rank(s)")
        let command = try XCTUnwrap(lines.last)
        XCTAssertTrue(command.hasPrefix("mpirun -n 6 --hostfile /"), command)
        XCTAssertTrue(command.contains(" --npernode 3 --wdir \(dir) "), command)
        XCTAssertTrue(command.hasSuffix("--set num_machines=2 --set num_processes=6"), command)
    }
}
