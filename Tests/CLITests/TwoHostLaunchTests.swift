import Foundation
import TestSupport
import XCTest

/// `pretrain launch` with a hostfile of two "hosts" (cluster/ci/two-hosts.sh), one rank on each,
/// mpirun over TCP with an rsh agent instead of ssh. The run must give the same loss curve as two
/// ranks on one host.
///
/// The hosts are network namespaces joined by a veth pair where this machine can make them (root,
/// as in CI), and two loopback addresses where it cannot (the script says why): mpirun still starts a
/// second orted through the agent and each rank is alone on its host, so the two-host path of the
/// launch (hostfile, rsh agent, TCP between ranks) runs either way; nothing is skipped. Where
/// namespaces work, the loopback way runs as well, so both stay tested.
final class TwoHostLaunchTests: XCTestCase {
    func testTwoHostsGiveTheSameLossCurveAsOneHost() throws {
        let root = LaunchFixtures.repositoryRoot
        let script = root + "/cluster/ci/two-hosts.sh"
        let check = try CommandRun.run(script, ["--check"])
        XCTAssertTrue(check.status == 0 || check.status == 77, check.stdout + check.stderr)
        let namespacesBefore = try namespaces()

        let pretrain = try ProcessRunner.pretrainBinary()
        let dir = try LaunchFixtures.temporaryDirectory("two-hosts")
        let data = dir + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try LaunchFixtures.writeShard(to: data)
        let steps = 8
        let config = try LaunchFixtures.write(LaunchFixtures.trainingConfig(dataDir: data, runDir: dir + "/one-host", steps: steps), to: dir, "run.yaml")
        let clean = ["OMPI_MCA_pml": "", "OMPI_MCA_btl": "", "OMPI_MCA_plm_rsh_agent": ""]

        let oneHost = try CommandRun.run(pretrain, ["launch", "--config", config], environment: clean)
        XCTAssertEqual(oneHost.status, 0, oneHost.stderr)
        let expected = try LaunchFixtures.losses(runDir: dir + "/one-host")
        XCTAssertEqual(expected.keys.sorted(), Array(1...steps))

        let modes = check.status == 0 ? ["namespaces", "loopback"] : ["loopback"]
        for mode in modes {
            let start = Date()
            // On host A: the training run, then the communicator self-test to show where the ranks ran.
            let twoHostArguments = "--config \(config) --set num_machines=2 --set mpirun_config.mpirun_hostfile=\"$TWO_HOSTS_HOSTFILE\""
            let twoHosts = try CommandRun.run(script, ["/bin/sh", "-c", """
                echo "mode $TWO_HOSTS_MODE"
                \(pretrain) launch \(twoHostArguments) --set logging.run_dir=\(dir)/\(mode) || exit $?
                \(pretrain) launch \(twoHostArguments) -- selftest comm --sizes 7
                """], environment: clean.merging(["TWO_HOSTS_FORCE_LOOPBACK": mode == "loopback" ? "1" : ""]) { $1 }, timeout: 100)
            XCTAssertFalse(twoHosts.timedOut, mode)
            XCTAssertEqual(twoHosts.status, 0, twoHosts.stdout + twoHosts.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(start), 100, mode)
            XCTAssertTrue(twoHosts.stdout.hasPrefix("mode \(mode)\n"), twoHosts.stdout)
            if mode == "loopback" {
                XCTAssertTrue(twoHosts.stderr.contains("two-hosts: no network namespaces here ("), twoHosts.stderr)
            }

            // mpirun used the hostfile; each rank was alone on its host and the checks passed over TCP.
            XCTAssertTrue(twoHosts.stderr.contains("pretrain launch: mpirun -n 2 --hostfile /"), twoHosts.stderr)
            XCTAssertTrue(twoHosts.stdout.contains("selftest comm: 2 ranks (mpi, "), twoHosts.stdout)
            XCTAssertTrue(twoHosts.stdout.contains("local rank 0 of 1"), "\(mode): the ranks shared a host: \(twoHosts.stdout)")
            XCTAssertTrue(twoHosts.stdout.contains(" passed, 0 failed"), twoHosts.stdout)

            let actual = try LaunchFixtures.losses(runDir: dir + "/" + mode)
            XCTAssertEqual(actual.keys.sorted(), Array(1...steps), mode)
            for step in 1...steps {
                XCTAssertEqual(actual[step] ?? .nan, expected[step] ?? .nan, accuracy: 1e-6, "\(mode), step \(step)")
            }
        }
        XCTAssertEqual(try namespaces().subtracting(namespacesBefore), [], "namespaces left behind")
    }

    /// The names of the network namespaces that exist now.
    func namespaces() throws -> Set<String> {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        let run = try CommandRun.run("/usr/bin/env", ["ip", "netns", "list"], environment: ["PATH": path])
        return Set(run.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }
}
