import ArgumentParser

/// PLACEHOLDER for `pretrain data prepare` (being written; replace this whole file).
struct DataPrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prepare", abstract: "(being written)")
    func run() throws { throw CLIError("`pretrain data prepare` is not built yet") }
}
