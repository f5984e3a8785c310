import ArgumentParser

/// PLACEHOLDER for `pretrain bench tokenizer` (being written; replace this whole file).
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenizer", abstract: "(being written)")
    func run() throws { throw CLIError("`pretrain bench tokenizer` is not built yet") }
}
