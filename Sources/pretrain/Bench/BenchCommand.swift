import ArgumentParser

/// `pretrain bench`: throughput benchmarks (results go in BENCHMARKS.md, never in timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput: allreduce, training step (GPT and BERT), kernels, scaling, tokenizer, checkpoints, generation, transfer.",
        subcommands: [BenchAllreduceCommand.self, BenchStepCommand.self, BenchMLMCommand.self, BenchKernelsCommand.self, BenchTransferCommand.self,
                      BenchScalingCommand.self, BenchTokenizerCommand.self, BenchCheckpointCommand.self, BenchGenerateCommand.self])
}
