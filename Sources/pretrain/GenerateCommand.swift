import ArgumentParser
import Foundation
import Model
import Support
import Training

/// `pretrain generate`: continue a prompt with a trained checkpoint, streaming tokens as they come.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Sample text from a checkpoint (key/value cache: each new token costs one position).",
        discussion: """
        Examples:
          pretrain generate --checkpoint runs/tiny/checkpoints --prompt "The meaning of life"
          pretrain generate --checkpoint runs/tiny/checkpoints/step-00000300 --prompt "Q:" --temperature 0   (greedy)
        --checkpoint takes a step-NNNNNNNN directory or the checkpoint.dir of a run (its newest
        checkpoint). The prompt is encoded with the checkpoint's byte-level BPE tokenizer, so any bytes
        encode. Temperature 0 or --top-k 1 is greedy (deterministic); otherwise --seed makes sampling
        repeatable. Generation stops at --max-new-tokens or at <|endoftext|> (unless --no-stop-at-eot). When the sequence reaches
        model.max_seq_len, the older half of the context is dropped and the rest re-read.
        """.helpParagraphs)

    @Option(help: "A step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "Text to continue (empty: start from <|endoftext|>).") var prompt: String = ""
    @Option(help: "Tokens to generate.") var maxNewTokens: Int = 100
    @Option(help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0.8
    @Option(help: "Sample among the K most likely tokens; 0 = all, 1 = greedy.") var topK: Int = 40
    @Option(help: "Random seed of the sampler.") var seed: UInt64 = 1337
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: "A tokenizer.json to use instead of the checkpoint's.") var tokenizer: String?
    @Flag(help: "Do not print the prompt before the continuation, nor the speed line.") var quiet = false
    @Flag(inversion: .prefixedNo, help: "Stop at <|endoftext|> (--no-stop-at-eot: print a blank line there and go on).")
    var stopAtEot = true

    func run() throws {
        guard maxNewTokens >= 0 else { throw CLIError("--max-new-tokens \(maxNewTokens) must be ≥ 0") }
        guard threads ?? 1 >= 1 else { throw CLIError("--threads \(threads!) must be at least 1") }
        Parallel.setThreads(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let loaded = try ModelCheckpoint.open(checkpoint)
        let model = try loaded.gpt(batch: 1, seqLen: 1)
        var sampler: TokenSampler
        do {
            sampler = try TokenSampler(temperature: temperature, topK: topK, seed: seed, vocabularySize: model.config.vocabSize)
        } catch let error as ModelError {
            throw CLIError("--" + error.message)  // "top-k …" / "temperature …": name the flag
        }
        let tok = try loaded.byteLevelTokenizer(explicit: tokenizer)
        let generator = try TextGenerator(model: model, tokenizer: tok, prompt: prompt) { warning in
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        if !quiet { print(prompt, terminator: ""); fflush(stdout) }
        let (produced, seconds) = try generator.generate(maxNewTokens: maxNewTokens, sampler: &sampler, stopAtEndOfText: stopAtEot) { text in
            if !text.isEmpty { print(text, terminator: ""); fflush(stdout) }
        }
        print("")
        fflush(stdout)
        if !quiet {
            FileHandle.standardError.write(Data(String(format: "[%d tokens in %.2f s: %.1f tokens/s, %d prompt tokens, checkpoint step %d]\n",
                                                       produced, seconds, Double(produced) / max(seconds, 1e-9), generator.promptTokens.count, loaded.reader.manifest.step).utf8))
        }
    }
}
