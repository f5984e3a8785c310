import ArgumentParser

/// `pretrain bench`: throughput benchmarks (results go in BENCHMARKS.md, never in timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput: allreduce bandwidth, training-step speed (GPT and BERT), scaling, tokenizer, checkpoint save/load, generation.",
        subcommands: [BenchAllreduceCommand.self, BenchStepCommand.self, BenchMLMCommand.self, BenchScalingCommand.self,
                      BenchTokenizerCommand.self, BenchCheckpointCommand.self, BenchGenerateCommand.self])
}
