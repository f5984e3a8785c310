import ArgumentParser

/// PLACEHOLDER for `pretrain bench step` (being written; replace this whole file).
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "step", abstract: "(being written)")
    func run() throws { throw CLIError("`pretrain bench step` is not built yet") }
}
