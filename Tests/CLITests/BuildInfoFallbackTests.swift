import BuildInfo
import Foundation
import TestSupport
import XCTest

/// `Plugins/BuildInfoPlugin/build-info.sh`, the script the build runs before compiling BuildInfo, where
/// git cannot answer: a directory that is not a clone, and clones read without git (a branch, a packed
/// ref, a detached HEAD, a worktree), with and without `swift` on PATH. Each case feeds the generated
/// values to `BuildInfo.summary`, the line `pretrain --version` prints after "pretrain ".
final class BuildInfoFallbackTests: XCTestCase {
    let hash = "0123456789abcdef0123456789abcdef01234567"

    /// A PATH directory holding the tools the script uses, without git; with `swift`, a stand-in that
    /// prints `swiftLine`.
    func toolsWithoutGit(_ dir: String, swiftLine: String?) throws -> String {
        let bin = dir + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for tool in ["cat", "cmp", "cut", "grep", "head", "mkdir", "mv", "rm", "sed", "tr"] {
            let found = try XCTUnwrap(["/usr/bin/", "/bin/"].map { $0 + tool }.first { FileManager.default.isExecutableFile(atPath: $0) }, tool)
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + tool, withDestinationPath: found)
        }
        if let swiftLine { try LaunchFixtures.write("#!/bin/sh\necho '\(swiftLine)'\necho 'Target: x86_64-unknown-linux-gnu'\n", to: bin, "swift", executable: true) }
        return bin
    }

    /// Runs the build's script for package `root` (with `path` as PATH when given) and returns the
    /// generated (commit, swiftVersion).
    func generate(root: String, path: String? = nil) throws -> (commit: String, swift: String) {
        let out = try LaunchFixtures.temporaryDirectory("buildinfo-out")
        let script = LaunchFixtures.repositoryRoot + "/Plugins/BuildInfoPlugin/build-info.sh"
        let run = try CommandRun.run("/bin/sh", [script, root, out], environment: path.map { ["PATH": $0] } ?? [:])
        XCTAssertEqual(run.status, 0, run.stderr)
        let text = try String(contentsOfFile: out + "/BuildInfo+Generated.swift", encoding: .utf8)
        func value(_ name: String) throws -> String {
            let line = try XCTUnwrap(text.split(separator: "\n").first { $0.contains("static let \(name) = ") }, text)
            return String(line.split(separator: "\"", omittingEmptySubsequences: false)[1])
        }
        return (try value("commit"), try value("swiftVersion"))
    }

    /// Not a clone (git installed): commit unknown; the Swift line is this machine's.
    func testOutsideAGitCloneTheCommitIsUnknown() throws {
        let root = try LaunchFixtures.temporaryDirectory("not-a-clone")
        let swift = try CommandRun.run("/usr/bin/env", ["swift", "--version"])
        let swiftLine = try XCTUnwrap(swift.stdout.split(separator: "\n").first.map(String.init))
        let generated = try generate(root: root)
        XCTAssertEqual(generated.commit, "unknown")
        XCTAssertEqual(generated.swift, swiftLine)
        XCTAssertEqual(BuildInfo.summary(commit: generated.commit, swiftVersion: generated.swift), "0.1.0 (commit unknown, \(swiftLine))")
    }

    /// Without git and without swift on PATH: the commit is read from .git directly in each layout, and
    /// the Swift version is unknown; with neither a clone nor swift, both are.
    func testWithoutGitTheCommitIsReadFromTheGitDirectory() throws {
        let dir = try LaunchFixtures.temporaryDirectory("no-git")
        let bare = try toolsWithoutGit(dir + "/bare", swiftLine: nil)
        let short = String(hash.prefix(12))
        func clone(_ name: String, head: String, loose: Bool = true, packed: Bool = false) throws -> String {
            let root = dir + "/" + name
            try FileManager.default.createDirectory(atPath: root + "/.git/refs/heads", withIntermediateDirectories: true)
            try LaunchFixtures.write(head + "\n", to: root + "/.git", "HEAD")
            if loose { try LaunchFixtures.write(hash + "\n", to: root + "/.git/refs/heads", "main") }
            if packed { try LaunchFixtures.write("# pack-refs with: peeled fully-peeled sorted\n\(hash) refs/heads/main\n", to: root + "/.git", "packed-refs") }
            return root
        }
        let branch = try generate(root: try clone("branch", head: "ref: refs/heads/main"), path: bare)
        XCTAssertEqual(branch.commit, short)
        XCTAssertEqual(branch.swift, "unknown")
        XCTAssertEqual(BuildInfo.summary(commit: branch.commit, swiftVersion: branch.swift), "0.1.0 (commit \(short), Swift version unknown)")
        XCTAssertEqual(try generate(root: try clone("packed", head: "ref: refs/heads/main", loose: false, packed: true), path: bare).commit, short)
        XCTAssertEqual(try generate(root: try clone("detached", head: hash, loose: false), path: bare).commit, short)

        // A worktree: .git is a file naming its git directory, whose commondir holds the refs.
        let main = try clone("main", head: "ref: refs/heads/main")
        let worktreeGit = main + "/.git/worktrees/feature"
        try FileManager.default.createDirectory(atPath: worktreeGit, withIntermediateDirectories: true)
        try LaunchFixtures.write("ref: refs/heads/feature\n", to: worktreeGit, "HEAD")
        try LaunchFixtures.write("../..\n", to: worktreeGit, "commondir")
        let other = "fedcba9876543210fedcba9876543210fedcba98"
        try LaunchFixtures.write(other + "\n", to: main + "/.git/refs/heads", "feature")
        let worktree = dir + "/feature"
        try FileManager.default.createDirectory(atPath: worktree, withIntermediateDirectories: true)
        try LaunchFixtures.write("gitdir: \(worktreeGit)\n", to: worktree, ".git")
        XCTAssertEqual(try generate(root: worktree, path: bare).commit, String(other.prefix(12)))

        // Neither a clone nor swift; then a swift on PATH without git.
        let nothing = try generate(root: try LaunchFixtures.temporaryDirectory("nothing"), path: bare)
        XCTAssertEqual([nothing.commit, nothing.swift], ["unknown", "unknown"])
        XCTAssertEqual(BuildInfo.summary(commit: nothing.commit, swiftVersion: nothing.swift), "0.1.0 (commit unknown, Swift version unknown)")
        let withSwift = try toolsWithoutGit(dir + "/swift", swiftLine: "Swift version 9.9 (swift-9.9-RELEASE)")
        let swift = try generate(root: try LaunchFixtures.temporaryDirectory("nothing"), path: withSwift)
        XCTAssertEqual(BuildInfo.summary(commit: swift.commit, swiftVersion: swift.swift), "0.1.0 (commit unknown, Swift version 9.9 (swift-9.9-RELEASE))")
    }

    /// The binary under test was built by the same script: its --version is the summary of its own values.
    func testVersionPrintsTheSummaryOfTheGeneratedValues() throws {
        let run = try CommandRun.run(try ProcessRunner.pretrainBinary(), ["--version"])
        XCTAssertEqual(run.stdout, "pretrain " + BuildInfo.summary(commit: BuildInfo.commit, swiftVersion: BuildInfo.swiftVersion) + "\n")
    }
}
