import ArgumentParser
import Benchmarks
import Foundation

/// `pretrain bench step`: training-step throughput of one process on the benchmark presets.
struct BenchStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Time forward + backward + AdamW steps on a preset model; print tokens/s, ms/step, MFU.",
        discussion: """
        Presets (the same shapes as ../shared/bench/torch_gpt.py, the PyTorch peer):
          s  vocab 8192, 6 layers, 6 heads, d 384, T 256, micro-batch 8
          m  GPT-2 124M: vocab 50257, 12 layers, 12 heads, d 768, 1024 positions, T 256, micro-batch 4
        MFU counts 6·N + 12·L·d·T FLOPs per token against sgemm's measured peak at the same thread count.
        Example: pretrain bench step --preset m --threads 2 --steps 10
        """.helpParagraphs)

    @OptionGroup var options: StepBenchOptions
    @Flag(help: "Print one JSON line instead of the table.") var json = false

    func run() throws {
        let result = try StepBenchmark.run(options.settings())
        (json ? [result.jsonLine] : result.tableLines).forEach { print($0) }
    }
}
