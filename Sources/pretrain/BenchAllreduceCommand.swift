import ArgumentParser

/// PLACEHOLDER for `pretrain bench allreduce` (being written; replace this whole file).
struct BenchAllreduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "allreduce", abstract: "(being written)")
    func run() throws { throw CLIError("`pretrain bench allreduce` is not built yet") }
}
