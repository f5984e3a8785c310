import Launch
import TestSupport
import XCTest

final class ShellWordsTests: XCTestCase {
    func testPlainWordsStayAndOthersAreSingleQuoted() {
        XCTAssertEqual(ShellWords.quote("--mca"), "--mca")
        XCTAssertEqual(ShellWords.quote("OMP_NUM_THREADS=2"), "OMP_NUM_THREADS=2")
        XCTAssertEqual(ShellWords.quote("slot:PE=4"), "slot:PE=4")
        XCTAssertEqual(ShellWords.quote("data/*.bin"), "'data/*.bin'")
        XCTAssertEqual(ShellWords.quote("a b"), "'a b'")
        XCTAssertEqual(ShellWords.quote("it's"), "'it'\\''s'")
        XCTAssertEqual(ShellWords.quote(""), "''")
    }

    func testJoinedLineRunsTheSameWordsInAShell() throws {
        let words = ["printf", "%s|", "plain", "two words", "it's", "$HOME", "*"]
        let run = try CommandRun.run("/bin/sh", ["-c", ShellWords.join(words)])
        XCTAssertEqual(run.stdout, "plain|two words|it's|$HOME|*|")
    }
}
