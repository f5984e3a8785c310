import ArgumentParser
import DataPipeline
import Foundation
import Kernels
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
        """)

    @Option(help: "A step-NNNNNNNN checkpoint directory, or a run's checkpoint.dir (newest checkpoint).") var checkpoint: String
    @Option(help: "Text to continue (empty: start from <|endoftext|>).") var prompt: String = ""
    @Option(help: "Tokens to generate.") var maxNewTokens: Int = 100
    @Option(help: "Sampling temperature; 0 = greedy.") var temperature: Float = 0.8
    @Option(help: "Sample among the K most likely tokens; 0 = all, 1 = greedy.") var topK: Int = 40
    @Option(help: "Random seed of the sampler.") var seed: UInt64 = 1337
    @Option(help: "Compute threads (default: all cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "A tokenizer.json to use instead of the checkpoint's.") var tokenizer: String?
    @Flag(help: "Do not print the prompt before the continuation, nor the speed line.") var quiet = false
    @Flag(inversion: .prefixedNo, help: "Stop at <|endoftext|> (--no-stop-at-eot: print a blank line there and go on).")
    var stopAtEot = true

    func run() throws {
        guard maxNewTokens >= 0 else { throw CLIError("--max-new-tokens \(maxNewTokens) must be ≥ 0") }
        guard threads >= 1 else { throw CLIError("--threads \(threads) must be at least 1") }
        Parallel.setThreads(threads)
        let loaded = try ModelCheckpoint.open(checkpoint)
        let model = try loaded.gpt(batch: 1, seqLen: 1)
        let config = model.config
        var sampler: TokenSampler
        do {
            sampler = try TokenSampler(temperature: temperature, topK: topK, seed: seed, vocabularySize: config.vocabSize)
        } catch let error as ModelError {
            throw CLIError("--" + error.message)  // "top-k …" / "temperature …": name the flag
        }
        let tok = try loaded.tokenizer(explicit: tokenizer)
        var ids = tok.encode(prompt)
        if ids.isEmpty {
            guard let eot = tok.endOfText else { throw CLIError("the tokenizer has no <|endoftext|> token to start from; give a --prompt") }
            ids = [eot]
        }
        let inference: GPTInference
        do { inference = try GPTInference(model: model) } catch let error as ModelError { throw CLIError(error.message) }
        let capacity = inference.cache.capacity
        if ids.count >= capacity {
            FileHandle.standardError.write(Data("warning: the prompt has \(ids.count) tokens; only its last \(capacity / 2) fit with room to continue (model.max_seq_len \(config.maxSeqLen))\n".utf8))
            ids = Array(ids.suffix(capacity / 2))
        }
        var stream = UTF8Stream()
        if !quiet { print(prompt, terminator: ""); fflush(stdout) }
        let start = DispatchTime.now().uptimeNanoseconds
        var context = ids
        var logits = try ids.withUnsafeBufferPointer { try inference.append($0) }
        var produced = 0
        while produced < maxNewTokens {
            let next = sampler.pick(logits)
            produced += 1
            if next == tok.endOfText, stopAtEot { break }
            let text = next == tok.endOfText ? stream.push(Array("\n\n".utf8)) : stream.push(tok.bytes(of: next))
            if !text.isEmpty { print(text, terminator: ""); fflush(stdout) }
            context.append(next)
            if produced == maxNewTokens { break }
            if inference.position == capacity {
                // Full: keep the newer half of the context and re-read it.
                context = Array(context.suffix(capacity / 2))
                inference.reset()
                logits = try context.withUnsafeBufferPointer { try inference.append($0) }
            } else {
                logits = try [next].withUnsafeBufferPointer { try inference.append($0) }
            }
        }
        print(stream.flush())
        fflush(stdout)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if !quiet {
            FileHandle.standardError.write(Data(String(format: "[%d tokens in %.2f s: %.1f tokens/s, %d prompt tokens, checkpoint step %d]\n",
                                                       produced, seconds, Double(produced) / max(seconds, 1e-9), ids.count, loaded.reader.manifest.step).utf8))
        }
    }
}

/// Turns a stream of byte chunks (one token's bytes at a time) into text, holding back a UTF-8
/// sequence that a token boundary split until its last byte arrives.
struct UTF8Stream {
    private var pending: [UInt8] = []

    /// Adds bytes; returns the text that is now complete.
    mutating func push(_ bytes: [UInt8]) -> String {
        pending += bytes
        let complete = Self.completePrefix(pending)
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is left (an incomplete sequence comes out as U+FFFD).
    mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a multi-byte sequence.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var back = 0
        while i >= 0, back < 4, bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        guard i >= 0 else { return bytes.count }
        let lead = bytes[i]
        let needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return bytes.count - i >= needed ? bytes.count : i
    }
}
