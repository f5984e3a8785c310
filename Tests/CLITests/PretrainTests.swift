import Foundation
import Support
import TestSupport
import XCTest

/// The `pretrain` root command: user mistakes are one line with a fix, `env` reports the machine.
final class PretrainTests: XCTestCase {
    func testUnknownSubcommandIsOneLineWithAFix() throws {
        let run = try ProcessRunner.pretrain(["trian"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.lines.count, 1, run.output)
        XCTAssertTrue(run.output.hasPrefix("error: "), run.output)
        XCTAssertTrue(run.output.contains("trian"), run.output)
        XCTAssertTrue(run.output.contains("pretrain --help"), run.output)
    }

    func testUnknownFlagIsOneLineWithAFix() throws {
        let run = try ProcessRunner.pretrain(["env", "--verbose"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.lines.count, 1, run.output)
        XCTAssertTrue(run.output.contains("--verbose"), run.output)
        XCTAssertFalse(run.output.contains("Fatal error"), run.output)
    }

    func testEnvReportsBLASMPIAndZstd() throws {
        let run = try ProcessRunner.pretrain(["env"])
        XCTAssertEqual(run.status, 0, run.output)
        for key in ["cpu", "memory", "openblas core", "openblas threads", "mpi", "mpi layout", "zstd"] {
            XCTAssertTrue(run.lines.contains { $0.hasPrefix(key + " ") }, "env prints \(key): \(run.output)")
        }
        XCTAssertTrue(run.output.contains("single process"), run.output)
    }

    func testEnvUnderMPIShowsTheRankLayout() throws {
        let run = try ProcessRunner.mpirun(2, ["env"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("rank 0 of 2"), run.output)
        XCTAssertTrue(run.output.contains("rank 1 of 2"), run.output)
    }

    func testBLASKernelFamilyIsAtLeastWhatTheCPUSupports() throws {
        // The binary re-executes itself with OPENBLAS_CORETYPE when OpenBLAS picks weaker kernels than
        // the CPU's features allow; env shows the family in use. Check it against /proc/cpuinfo here.
        let run = try ProcessRunner.pretrain(["env"])
        let line = run.lines.first { $0.hasPrefix("openblas core ") } ?? ""
        if let chosen = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            // A core set in the environment (as some machines set Haswell on AVX-512 CPUs, where older
            // OpenBLAS kernels misbehave) is honoured as it is: the binary never re-executes over it.
            XCTAssertTrue(line.contains(chosen), "OPENBLAS_CORETYPE=\(chosen) but env shows \(line)")
            return
        }
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let weak = ["Prescott", "Core2", "Nehalem", "Atom", "Katmai", "Penryn", "Dunnington", "Opteron", "Barcelona"]
        if flags.contains("avx2") && flags.contains("fma") {
            XCTAssertFalse(weak.contains { line.contains($0) }, "AVX2 CPU but OpenBLAS uses \(line)")
        }
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") && flags.contains("avx512dq") {
            XCTAssertTrue(line.contains("SkylakeX") || line.contains("Cooperlake") || line.contains("SapphireRapids"), line)
        }
    }

    /// Paragraphs come out as one line each for ArgumentParser to wrap; examples, blank lines and the
    /// lines after a colon keep their breaks.
    func testHelpParagraphsJoinOnlyFlowingText() {
        let text = "First line of a\nparagraph ends here.\n\nExample:\n  pretrain a \\\n      --b\nThen more\ntext: after\n- item"
        XCTAssertEqual(text.helpParagraphs, "First line of a paragraph ends here.\n\nExample:\n  pretrain a \\\n      --b\nThen more text: after - item")
    }

    /// `--help` is wrapped once: at 80 columns no line is longer and no paragraph line is cut into a
    /// long piece and a short one (a paragraph of `train --help` is one line at 1,000 columns); a
    /// flag's default is said once.
    func testHelpIsWrappedOnceAndSaysEachDefaultOnce() throws {
        let wide = try CommandRun.run(try ProcessRunner.pretrainBinary(), ["train", "--help"], environment: ["COLUMNS": "1000"])
        let paragraph = try XCTUnwrap(wide.stdout.split(separator: "\n").first { $0.hasPrefix("Rank 0 prints the resolved config") }, wide.stdout)
        XCTAssertTrue(paragraph.contains("steps; every rank writes its numbers as JSON lines"), "one line: \(paragraph)")
        let narrow = try CommandRun.run(try ProcessRunner.pretrainBinary(), ["train", "--help"], environment: ["COLUMNS": "80"])
        XCTAssertTrue(narrow.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 || $0.hasPrefix("USAGE: ") }, narrow.stdout)  // ArgumentParser never wraps USAGE
        for command in ["generate", "predict"] {
            let help = try CommandRun.run(try ProcessRunner.pretrainBinary(), [command, "--help"], environment: ["COLUMNS": "200"])
            let threads = try XCTUnwrap(help.stdout.split(separator: "\n").first { $0.contains("--threads <threads>") && $0.contains("Compute threads") }, help.stdout)
            XCTAssertEqual(threads.components(separatedBy: "default").count, 2, "default said once: \(threads)")
        }
    }
}
