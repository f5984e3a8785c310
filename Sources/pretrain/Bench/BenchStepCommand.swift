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
          t5-s     T5 (ReLU, tied): vocab 8192, 6+6 layers, 6 heads, d 384, d_ff 1536, source and target 256, micro-batch 4
          t5-base  t5-base's shape: vocab 32128, 12+12 layers, 12 heads, d 768, d_ff 3072, source and target 256, micro-batch 4
        T5 tokens/s counts source + target tokens; its peer is Tests/Peers/torch_t5.py (Hugging Face T5ForConditionalGeneration).
        MFU counts 6·N + 12·L·d·T FLOPs per token against sgemm's measured peak at the same thread count.
        Example: pretrain bench step --preset m --threads 2 --steps 10
        """.helpParagraphs)

    @OptionGroup var options: StepBenchOptions
    @Flag(help: "Print one JSON line instead of the table.") var json = false

    func run() throws {
        if T5BenchPreset.isT5(options.preset) {
            let result = try T5StepBenchmark.run(options.settings())
            return (json ? [result.jsonLine] : result.tableLines).forEach { print($0) }
        }
        let result = try StepBenchmark.run(options.settings())
        (json ? [result.jsonLine] : result.tableLines).forEach { print($0) }
    }
}
