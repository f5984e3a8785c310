import ArgumentParser
import Benchmarks
import Foundation

/// `pretrain bench tokenizer`: BPE training time and encode throughput, beside Python `tokenizers`.
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer",
        abstract: "Time tokenizer training and encoding, side by side with the Python tokenizers library.",
        discussion: """
        With --tokenizer both sides skip training and encode with that file. Otherwise both sides train a byte-level BPE tokenizer of the same vocabulary size (--vocab-size, default 4096) on the same documents (GPT-2 split, the same 5 special tokens, min frequency 2), then encode every document with a cold cache, on 1 thread and on --threads threads (best of --passes). Each side also encodes with the other's tokenizer.json and the ids are compared. The peer runs when `python3 -c 'import tokenizers'` works (pip install tokenizers); --no-peer skips it.
        """.helpParagraphs)

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Text files or directories (default: Debian's fortunes).", valueName: "path"))
    var input: [String] = [TokenizerBenchmark.fortunes]

    @Option(name: .long, help: ArgumentHelp("Document separator line (default '%' for fortunes, else one document per file).", valueName: "line"))
    var documentSeparator: String?

    @OptionGroup var tokenizerChoice: TokenizerChoice

    @Option(name: .long, help: ArgumentHelp("Threads for the multi-threaded runs (default: all cores).", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Timed passes per measurement; the best is reported.", valueName: "n"))
    var passes: Int = 3

    @Option(name: .long, help: ArgumentHelp("Python interpreter for the peer.", valueName: "path"))
    var python: String = "python3"

    @Flag(name: .long, help: "Skip the Python tokenizers peer.")
    var noPeer = false

    func run() throws {
        let settings = TokenizerBenchmark.Settings(inputs: input, documentSeparator: documentSeparator, vocabSize: tokenizerChoice.vocabSize ?? 4096, tokenizerPath: tokenizerChoice.tokenizer,
                                                   threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, passes: passes,
                                                   python: python, peer: !noPeer)
        try TokenizerBenchmark.run(settings).lines.forEach { print($0) }
    }
}
