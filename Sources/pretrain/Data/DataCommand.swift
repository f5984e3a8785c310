import ArgumentParser

/// `pretrain data`: turn raw text into token shards.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare training data: train or load a tokenizer, write token shards.",
        subcommands: [DataPrepareCommand.self, DataFortunesTaskCommand.self])
}
