import ArgumentParser
import Config
import Foundation
import Launch

/// `pretrain config`: write, explain or resolve a run's YAML config.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Write a run config (interactively or with defaults), explain every key, or print a resolved config.",
        discussion: """
        pretrain config                               ask questions (like `accelerate config`), write the YAML;
                                                      answers may come on a pipe, one a line (Enter = default)
        pretrain config --defaults --out run.yaml     the same without questions (no terminal needed)
        pretrain config --explain                     every key with its type, default and meaning
        pretrain config --show --config run.yaml --set optimizer.lr=3e-4
                                                      the fully resolved config, validated
        """.helpParagraphs)

    @Option(help: "Where to write the config.") var out: String = "run.yaml"
    @Flag(help: "Write the defaults without asking questions.") var defaults = false
    @Flag(help: "Print every key with its type, default and meaning.") var explain = false
    @Flag(help: "Print the resolved config (--config plus --set) instead of writing one.") var show = false
    @Option(help: "A config file to start from (with --show).") var config: String?
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=3e-4 (repeatable).") var overrides: [String] = []
    @Flag(help: "Replace --out if it exists.") var force = false

    func run() throws {
        if explain { print(ConfigLoader.explain(), terminator: ""); return }
        if show {
            let resolved = try loadConfig(config, overrides)
            print(ConfigLoader.render(resolved), terminator: "")
            return
        }
        var resolved = try loadConfig(config, overrides)
        if FileManager.default.fileExists(atPath: out), !force {
            throw CLIError("\(out) exists; choose another --out or add --force to replace it")
        }
        if !defaults {
            let wizard = ConfigWizard(environment: .current(), input: { readLine() }, output: { print($0) })
            resolved = try wizard.run(starting: resolved)
        }
        let text = "# swift-pretrain run config, written by `pretrain config`; every key: `pretrain config --explain`\n"
            + "# Start it with `pretrain launch --config \(out)` (or `--dry-run` to see the mpirun command).\n"
            + ConfigLoader.commented(ConfigLoader.render(resolved))
        do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out); launch it with `pretrain launch --config \(out)`")
    }
}

/// Loads a config with overrides, printing its notices on standard error.
func loadConfig(_ path: String?, _ overrides: [String]) throws -> RunConfig {
    try ConfigLoader.load(path: path, overrides: overrides) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
}
