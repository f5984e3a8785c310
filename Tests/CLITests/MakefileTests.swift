import Foundation
import TestSupport
import XCTest

/// The Makefile's install step: where it cannot install, it says what to do in one line.
final class MakefileTests: XCTestCase {
    /// The repository root, found from this file's path (Tests/CLITests/MakefileTests.swift).
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func makeDeps(package: String, path: String, asUser: String? = nil) throws -> ProcessRunner.Run {
        var command = ["make", "--no-print-directory", "-C", root, "deps", "APT_PACKAGES=\(package)"]
        if let user = asUser { command = ["setpriv", "--reuid=\(user)", "--regid=\(user)", "--clear-groups", "--"] + command }
        return try ProcessRunner.execute("/usr/bin/env", ["PATH=\(path)"] + command, timeout: 60)
    }

    func testNoAptSaysWhichPackagesToInstall() throws {
        // A PATH with make, dpkg-query and a shell but no apt-get.
        let bin = NSTemporaryDirectory() + "noapt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        for tool in ["make", "dpkg-query", "bash", "sh", "grep", "id", "env"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + tool, withDestinationPath: "/usr/bin/" + tool)
        }
        let run = try makeDeps(package: "no-such-package-xyz", path: bin)
        XCTAssertNotEqual(run.status, 0)
        let errors = run.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, run.output)
        XCTAssertTrue(errors.first.map { $0.contains("no-such-package-xyz") && $0.contains("no apt-get") } ?? false, run.output)
    }

    func testNoPermissionSaysToUseSudo() throws {
        guard getuid() == 0 else {
            // As a user, the real permission path is what runs; make sure it is the one-line error.
            let run = try makeDeps(package: "no-such-package-xyz", path: "/usr/bin:/bin")
            XCTAssertTrue(run.output.contains("sudo apt-get install") || run.status == 0, run.output)
            return
        }
        // As root, run it as `nobody`, who may neither install nor sudo.
        let run = try makeDeps(package: "no-such-package-xyz", path: "/usr/bin:/bin", asUser: "65534")
        XCTAssertNotEqual(run.status, 0)
        let errors = run.lines.filter { $0.hasPrefix("error:") }
        XCTAssertEqual(errors.count, 1, run.output)
        XCTAssertTrue(errors.first?.contains("sudo apt-get install -y no-such-package-xyz") ?? false, run.output)
    }
}
