import ArgumentParser

/// PLACEHOLDER for `pretrain selftest comm` (being written; replace this whole file).
struct SelfTestCommCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "comm", abstract: "(being written)")
    func run() throws { throw CLIError("`pretrain selftest comm` is not built yet") }
}
