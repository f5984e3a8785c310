import ArgumentParser
import Config
import Foundation
import Kernels

/// `pretrain config`: write, explain or resolve a run's YAML config.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Write a run config (interactively or with defaults), explain every key, or print a resolved config.",
        discussion: """
        pretrain config                               ask questions (like `accelerate config`), write the YAML
        pretrain config --defaults --out run.yaml     the same without questions (no terminal needed)
        pretrain config --explain                     every key with its type, default and meaning
        pretrain config --show --config run.yaml --set optimizer.lr=3e-4
                                                      the fully resolved config, validated
        """)

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
        if !defaults {
            guard isatty(0) != 0 else {
                throw CLIError("no terminal to ask questions on; use `pretrain config --defaults --out \(out)`")
            }
            resolved = try Wizard().ask(starting: resolved)
        }
        if FileManager.default.fileExists(atPath: out), !force {
            throw CLIError("\(out) exists; choose another --out or add --force to replace it")
        }
        let text = "# swift-pretrain run config; every key: `pretrain config --explain`\n" + ConfigLoader.render(resolved)
        do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out); launch it with `pretrain launch --config \(out)`")
    }
}

/// Loads a config with overrides, turning config errors into one-line CLI errors and printing notices.
func loadConfig(_ path: String?, _ overrides: [String]) throws -> RunConfig {
    do {
        return try ConfigLoader.load(path: path, overrides: overrides) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    } catch let error as ConfigError {
        throw CLIError(error.message)
    }
}

/// The interactive questions of `pretrain config`, each with a default from the detected machine.
struct Wizard {
    func ask(starting config: RunConfig) throws -> RunConfig {
        var c = config
        let cores = CPUInfo.host.cores
        print("swift-pretrain config: press Enter to accept the [default].")
        let machines = try question("How many machines?", "\(c.launch.numMachines)", key: "num_machines", &c)
        let processes = try question("How many processes in total (ranks)?", machines == "1" ? "\(max(1, min(cores, c.launch.numProcesses)))" : "\(c.launch.numProcesses)", key: "num_processes", &c)
        _ = try question("Threads per process (0 = cores ÷ ranks per host; this host has \(cores) cores)?", "0", key: "threads_per_process", &c)
        if machines != "1" {
            _ = try question("Hostfile (one line per machine: `host slots=N`)?", c.launch.mpirunHostfile.isEmpty ? "cluster/hostfile.example" : c.launch.mpirunHostfile, key: "mpirun_config.mpirun_hostfile", &c)
        }
        c.launch.distributedType = processes == "1" ? "NO" : "MULTI_CPU"
        _ = try question("Model layers?", "\(c.model.nLayer)", key: "model.n_layer", &c)
        _ = try question("Model width (d_model)?", "\(c.model.dModel)", key: "model.d_model", &c)
        _ = try question("Attention heads?", "\(c.model.nHead)", key: "model.n_head", &c)
        _ = try question("Training token shards (file, directory or glob)?", c.data.train, key: "data.train", &c)
        _ = try question("Training steps?", "\(c.training.steps)", key: "training.steps", &c)
        _ = try question("Peak learning rate?", "\(c.optimizer.lr)", key: "optimizer.lr", &c)
        try ConfigLoader.validate(c, origin: "answers")
        return c
    }

    /// Asks until the answer parses as the key's type; returns the accepted text.
    private func question(_ text: String, _ fallback: String, key: String, _ c: inout RunConfig) throws -> String {
        while true {
            print("\(text) [\(fallback)] ", terminator: "")
            guard let line = readLine() else { throw CLIError("input ended before the questions were answered") }
            let answer = line.trimmingCharacters(in: .whitespaces).isEmpty ? fallback : line.trimmingCharacters(in: .whitespaces)
            do {
                try ConfigLoader.apply(override: "\(key)=\(answer)", to: &c)
                return answer
            } catch let error as ConfigError {
                print("  \(error.message)")
            }
        }
    }
}
