import ArgumentParser
import Benchmarks
import Foundation

/// `pretrain bench mlm`: masked-LM training-step throughput of one process (BERT on preset shapes).
struct BenchMLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlm",
        abstract: "Time BERT masked-LM forward + backward + AdamW steps; print tokens/s, ms/step, MFU.",
        discussion: """
        Shapes of `pretrain bench step` as a post-LN BERT (feed-forward 4·d, 2 token types):
          s  vocab 8192, 6 layers, 6 heads, d 384, T 256, micro-batch 8
          m  vocab 50257, 12 layers, 12 heads, d 768, T 256, micro-batch 4
        Each step masks fresh random tokens with `MLMMasker` ([CLS] A [SEP], 15 % chosen by default), so the MLM head runs on the chosen rows only; --mask-rate 1 makes it run on every row.
        MFU counts 6·(N − V·d + rate·V·d) + 12·L·d·T FLOPs per token against sgemm's measured peak.
        Peer: python3 Tests/Peers/torch_bert.py --config S --threads 2 (Hugging Face BertForMaskedLM).
        Example: pretrain bench mlm --preset s --threads 2 --steps 8
        """.helpParagraphs)

    @OptionGroup var options: StepBenchOptions
    @Option(help: "Share of tokens chosen for the MLM loss.") var maskRate: Double = 0.15
    @Flag(help: "Print one JSON line instead of the table.") var json = false

    func run() throws {
        let result = try MLMBenchmark.run(options.settings(), maskRate: maskRate)
        (json ? [result.jsonLine] : result.tableLines).forEach { print($0) }
    }
}
