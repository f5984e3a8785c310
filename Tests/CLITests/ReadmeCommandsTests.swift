import Foundation
import TestSupport
import XCTest

/// README.md's commands work pasted in order after `make pretrain`: the Makefile's `pretrain` recipe
/// and then every line of every ```sh block run in one shell, in a fresh directory that has the
/// repository's configs/ and cluster/ and the built binary at .build/release/pretrain.
///
/// The test shortens the runs, not the README: a `train`/`launch` gets `--set training.steps=2` (an
/// explicit `training.steps=N` becomes N / 100, at least 2, so that a resumed run that asks for more
/// steps still takes them, and `checkpoint.every=N` becomes 1), a `finetune` gets `--steps 2`. `make …` lines are the
/// precondition (the recipe above stands for `make pretrain`) and are not run again.
final class ReadmeCommandsTests: XCTestCase {
    let root = LaunchFixtures.repositoryRoot

    /// The ```sh blocks' commands, in order: continuation lines joined, comments and blank lines left out.
    static func shellCommands(_ markdown: String) -> [String] {
        var commands: [String] = []
        var inBlock = false
        var pending = ""
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") { inBlock = !inBlock && line == "```sh"; continue }
            guard inBlock else { continue }
            let text = pending + line.trimmingCharacters(in: .whitespaces)
            if text.hasSuffix("\\") { pending = String(text.dropLast()); continue }
            pending = ""
            let command = withoutComment(text)
            if !command.isEmpty { commands.append(command) }
        }
        return commands
    }

    /// `text` without a trailing `# comment` (a # outside quotes that starts a word).
    static func withoutComment(_ text: String) -> String {
        var single = false, double = false, previous: Character = " "
        for (i, c) in zip(text.indices, text) {
            if c == "'" && !double { single.toggle() }
            if c == "\"" && !single { double.toggle() }
            if c == "#", !single, !double, previous == " " { return String(text[..<i]).trimmingCharacters(in: .whitespaces) }
            previous = c
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// The test's shortening of one command (see the type's comment).
    static func shortened(_ command: String) -> String {
        func replacing(_ pattern: String, _ template: String, in text: String) -> String {
            let regex = try! NSRegularExpression(pattern: pattern)
            return regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
        var c = command
        let trains = c.range(of: #"pretrain (train|launch) "#, options: .regularExpression) != nil
            && !c.contains("--dry-run") && !c.contains("--sbatch-options")
        if trains {
            if let range = c.range(of: #"training\.steps=[0-9]+"#, options: .regularExpression) {
                let steps = Int(c[range].dropFirst("training.steps=".count))!
                c.replaceSubrange(range, with: "training.steps=\(max(2, steps / 100))")
            } else {
                c += " --set training.steps=2"
            }
            c = replacing(#"checkpoint\.every=[0-9]+"#, "checkpoint.every=1", in: c)
        }
        if c.contains("pretrain finetune ") {
            c = c.contains("--steps ") ? replacing(#"--steps [0-9]+"#, "--steps 2", in: c) : c + " --steps 2"
        }
        return c
    }

    /// The Makefile's `pretrain` recipe as shell lines, with its variables filled in.
    func makePretrainRecipe() throws -> [String] {
        let makefile = try String(contentsOfFile: root + "/Makefile", encoding: .utf8)
        var lines: [String] = []
        var inRecipe = false
        for line in makefile.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("pretrain:") { inRecipe = true; continue }
            guard inRecipe else { continue }
            guard line.hasPrefix("\t") else { break }
            var command = String(line.dropFirst())
            if command.hasPrefix("@") { command.removeFirst() }
            command = command.replacingOccurrences(of: "$(BIN)", with: ".build/release/pretrain")
                .replacingOccurrences(of: "$(FORTUNES)", with: "/usr/share/games/fortunes")
            lines.append(command)
        }
        return lines
    }

    func testEveryReadmeCommandWorksPastedInOrderAfterMakePretrain() throws {
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        let commands = Self.shellCommands(readme).filter { !$0.hasPrefix("make ") }
        let recipe = try makePretrainRecipe()
        XCTAssertTrue(recipe.contains { $0.contains("launch --config configs/tiny.yaml") }, "\(recipe)")
        XCTAssertGreaterThan(commands.count, 30, "the README's commands were found")

        let dir = try LaunchFixtures.temporaryDirectory("readme")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/.build/release", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/.build/release/pretrain", withDestinationPath: try ProcessRunner.pretrainBinary())
        for linked in ["configs", "cluster"] {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + linked, withDestinationPath: root + "/" + linked)
        }
        // Enter for every question of `pretrain config`.
        let answers = try LaunchFixtures.write(String(repeating: "\n", count: 64), to: dir, ".answers")

        // One shell, as a user pastes: each command's status is checked and the first failure named.
        let all = (recipe + commands).map(Self.shortened)
        var script = "cd \(dir)\n"
        for (i, command) in all.enumerated() {
            script += "echo '### command \(i)'\n{ \(command)\n} < \(answers)\nstatus=$?\n"
            script += "if [ $status -ne 0 ]; then echo \"### failed \(i) with status $status\"; exit 1; fi\n"
        }
        var environment = ["PRETRAIN_PROGRESS": "lines", "OMPI_MCA_rmaps_base_oversubscribe": "1"]
        if getuid() == 0 { environment.merge(["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]) { $1 } }
        let run = try CommandRun.run("/bin/bash", ["-c", script], environment: environment, timeout: 600)
        let output = run.stdout + run.stderr
        if let failed = run.stdout.split(separator: "\n").first(where: { $0.hasPrefix("### failed ") }),
           let index = Int(failed.split(separator: " ")[2]) {
            let since = output.range(of: "### command \(index)\n").map { String(output[$0.upperBound...]) } ?? output
            XCTFail("README command failed: \(all[index])\n\(String(since.suffix(3000)))")
        }
        XCTAssertEqual(run.status, 0, String(output.suffix(3000)))
        XCTAssertTrue(run.stdout.contains("### command \(all.count - 1)"), String(output.suffix(3000)))
        // The 4-rank commands kept the global batch of 32 (micro_batch 16 → 8), and the 2 → 4-rank
        // resume took the steps the 2-rank run left.
        XCTAssertTrue(output.contains("training.micro_batch 16 → 8 with 1 accumulation step(s)"), String(output.suffix(3000)))
        for done in ["runs/saved/checkpoints/step-00000008", "runs/from-hf/checkpoints/step-00000002", "runs/tiny/checkpoints/step-00000002"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + done + "/manifest.json"), done)
        }
    }

    func testTheShorteningLeavesEverythingElseAsWritten() {
        XCTAssertEqual(Self.shortened("mpirun -n 2 .build/release/pretrain train --config configs/tiny.yaml --set logging.run_dir=runs/a"),
                       "mpirun -n 2 .build/release/pretrain train --config configs/tiny.yaml --set logging.run_dir=runs/a --set training.steps=2")
        XCTAssertEqual(Self.shortened("pretrain train --config c.yaml --set checkpoint.every=50 --set training.steps=800 --resume auto"),
                       "pretrain train --config c.yaml --set checkpoint.every=1 --set training.steps=8 --resume auto")
        XCTAssertEqual(Self.shortened("pretrain train --config c.yaml --set training.steps=50"), "pretrain train --config c.yaml --set training.steps=2")
        XCTAssertEqual(Self.shortened("pretrain launch --config run.yaml --dry-run"), "pretrain launch --config run.yaml --dry-run")
        XCTAssertEqual(Self.shortened("pretrain finetune --checkpoint x --steps 300 --lr 1e-3"), "pretrain finetune --checkpoint x --steps 2 --lr 1e-3")
        XCTAssertEqual(Self.shellCommands("```sh\na \\\n  b  # note\n# only a comment\n```\n```\nnot sh\n```\n"), ["a b"])
        XCTAssertEqual(Self.withoutComment("generate --prompt \"a # b\" # c"), "generate --prompt \"a # b\"")
    }
}
