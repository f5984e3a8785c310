import ArgumentParser
import Benchmarks
import Foundation
import Support

/// `pretrain bench kernels`: every kernel at one model's shapes (the "Kernels vs PyTorch ops" table
/// of BENCHMARKS.md).
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time each forward/backward kernel at a model's shapes; print ms and GB/s or GFLOP/s.",
        discussion: """
        Runs every kernel (embedding, LayerNorm, the four linear layers, the LM head, softmax + cross-entropy, causal attention, GELU, residual, dropout, AdamW, grad norm, clipping, zeroing) --repeats times after one warm-up call and prints the median and the best call. The defaults are bench-m's shapes (GPT-2 124M at T 256). On a busy machine use --threads 1 --clock thread-cpu: the calling thread's CPU time leaves out the time other processes took the core. --gemm-strategies also compares the two GEMM strategies on the block's matmuls.

        Example: pretrain bench kernels --threads 1 --clock thread-cpu
        """.helpParagraphs)

    @Option(name: .customLong("batch"), help: "Batch B.") var batch: Int = 4
    @Option(name: .customLong("seq-len"), help: "Sequence length T.") var seqLen: Int = 256
    @Option(help: "Channels C (d_model).") var channels: Int = 768
    @Option(help: "Attention heads (must divide --channels).") var heads: Int = 12
    @Option(help: "Vocabulary V (LM head and cross-entropy).") var vocab: Int = 50257
    @Option(help: "Parameters for the AdamW, grad-norm, clip and zeroing kernels.") var params: Int = 124_439_808
    @Option(help: "Threads for BLAS and the project's loops.") var threads: Int = 1
    @Option(help: "Timed calls per kernel (the median and the best are reported).") var repeats: Int = 5
    @Option(help: "wall (elapsed time) or thread-cpu (the calling thread's CPU time; needs --threads 1).") var clock: String = "wall"
    @Flag(help: "Also compare the two GEMM strategies on the transformer block's matmuls.") var gemmStrategies = false

    func run() throws {
        guard batch >= 1, seqLen >= 1, channels >= 1, heads >= 1, vocab >= 1, params >= 1 else {
            throw CLIError("--batch, --seq-len, --channels, --heads, --vocab and --params must be at least 1")
        }
        guard seqLen <= 1024 else { throw CLIError("--seq-len \(seqLen) exceeds the 1024 positions of the benchmark's position table") }
        guard channels % heads == 0 else { throw CLIError("--heads \(heads) does not divide --channels \(channels)") }
        guard threads >= 1 else { throw CLIError("--threads \(threads) must be at least 1") }
        guard repeats >= 1 else { throw CLIError("--repeats \(repeats) must be at least 1") }
        let kind: KernelBench.Clock
        switch clock {
        case "wall": kind = .wall
        case "thread-cpu": kind = .threadCPU
        default: throw CLIError("--clock \(clock) is not wall or thread-cpu")
        }
        guard kind == .wall || threads == 1 else { throw CLIError("--clock thread-cpu needs --threads 1 (it counts the calling thread only)") }
        var shape = KernelBench.Shape()
        (shape.B, shape.T, shape.C, shape.NH, shape.V, shape.params) = (batch, seqLen, channels, heads, vocab, params)
        Parallel.setThreads(threads)
        _ = KernelBench.run(shape: shape, repeats: repeats, clock: kind) { print($0) }
        if gemmStrategies { _ = KernelBench.runGEMMStrategies(shape: shape, repeats: max(1, repeats)) { print($0) } }
    }
}
