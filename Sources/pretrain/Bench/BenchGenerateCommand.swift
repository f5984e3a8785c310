import ArgumentParser
import Benchmarks
import Foundation

/// `pretrain bench generate`: generation speed with and without the key/value cache.
struct BenchGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Time greedy generation on a preset model, with the KV cache and without it (full forward per token).",
        discussion: """
        Random weights (speed does not depend on them). Both paths produce the same tokens (checked). Without the cache every new token runs the whole sequence again, as a model without inference support must; with it each token costs one position. Reports tokens/s (median of --repeats).

        Example: pretrain bench generate --preset m --threads 2 --prompt-tokens 16 --new-tokens 64 (t5-small: the prompt is the source)
        """.helpParagraphs)

    @Option(help: "Model preset: s or m (see `pretrain bench step --help`), or t5-small (encoder-decoder).") var preset: String = "m"
    @Option(help: "Threads for BLAS and the project's loops.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Prompt length in tokens.") var promptTokens: Int = 16
    @Option(help: "Tokens generated per run.") var newTokens: Int = 64
    @Option(help: "Timed runs per path (the median is reported).") var repeats: Int = 3
    @Flag(help: "Skip the run without the cache (it is slow on big presets).") var cacheOnly = false
    @Option(help: "t5-small: also time beam search with N beams.") var numBeams: Int = 1

    func run() throws {
        if preset == "t5-small" { return try T5GenerateBenchmark.run(threads: threads, sourceTokens: promptTokens, newTokens: newTokens, repeats: repeats, cacheOnly: cacheOnly, beams: numBeams).forEach { print($0) } }
        let settings = try GenerateBenchmark.Settings(preset: preset, threads: threads, promptTokens: promptTokens,
                                                      newTokens: newTokens, repeats: repeats, cacheOnly: cacheOnly)
        var shown = 0
        let result = try GenerateBenchmark.run(settings) { partial in
            partial.lines.forEach { print($0) }
            shown = partial.lines.count
        }
        result.lines.dropFirst(shown).forEach { print($0) }
    }
}
