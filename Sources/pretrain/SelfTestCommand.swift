import ArgumentParser

/// `pretrain selftest`: checks of the installation that run under mpirun (used by `make test` too).
struct SelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Check the installation under mpirun (communicator correctness).",
        subcommands: [SelfTestCommCommand.self])
}
