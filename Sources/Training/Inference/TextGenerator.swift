import DataPipeline
import Foundation
import Model

/// Continues a prompt with a GPT, one sampled token at a time over a key/value cache (each new token
/// costs one position): the workflow of `pretrain generate`, handing out text as it completes.
///
/// The prompt is encoded with the byte-level BPE tokenizer (an empty prompt starts from
/// <|endoftext|>); a prompt that fills the cache keeps its newer half. Generation stops after the
/// requested tokens or at <|endoftext|> (or, when told to go on, writes a blank line there). When the
/// sequence reaches the cache's capacity (model.max_seq_len), the older half of the context is dropped
/// and the rest re-read.
public final class TextGenerator {
    /// The tokenizer that encoded the prompt and decodes the continuation.
    public let tokenizer: Tokenizer
    /// The model's inference state (key/value cache).
    public let inference: GPTInference
    /// The prompt's tokens as read (after any truncation).
    public let promptTokens: [Int32]

    /// A generator continuing `prompt` with `model`; `warn` hears that the prompt was truncated (one
    /// line, without a "warning:" prefix). One-line errors (exit status 2) for an empty prompt with a
    /// tokenizer that has no <|endoftext|>, and for a model the cache cannot hold.
    public init(model: GPT, tokenizer: Tokenizer, prompt: String, warn: (String) -> Void = { _ in }) throws {
        var ids = tokenizer.encode(prompt)
        if ids.isEmpty {
            guard let eot = tokenizer.endOfText else {
                throw TrainingError("the tokenizer has no <|endoftext|> token to start from; give a --prompt", exitCode: 2)
            }
            ids = [eot]
        }
        do { inference = try GPTInference(model: model) } catch let error as ModelError {
            throw TrainingError(error.message, exitCode: 2)
        }
        let capacity = inference.cache.capacity
        if ids.count >= capacity {
            warn("the prompt has \(ids.count) tokens; only its last \(capacity / 2) fit with room to continue (model.max_seq_len \(model.config.maxSeqLen))")
            ids = Array(ids.suffix(capacity / 2))
        }
        self.tokenizer = tokenizer
        self.promptTokens = ids
    }

    /// Reads the prompt and samples up to `maxNewTokens` tokens with `sampler`, stopping at
    /// <|endoftext|> when `stopAtEndOfText`; `emit` gets the text as it completes (its last call
    /// flushes what is left, possibly nothing). Returns the tokens sampled and the seconds it took.
    public func generate(maxNewTokens: Int, sampler: inout TokenSampler, stopAtEndOfText: Bool,
                         emit: (String) -> Void) throws -> (tokens: Int, seconds: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let capacity = inference.cache.capacity, endOfText = tokenizer.endOfText
        var stream = UTF8Stream()
        var context = promptTokens
        context.reserveCapacity(capacity + 1)
        inference.reset()
        var logits = try context.withUnsafeBufferPointer { try inference.append($0) }
        var produced = 0
        while produced < maxNewTokens {
            var next = sampler.pick(logits)
            produced += 1
            if next == endOfText, stopAtEndOfText { break }
            let text = next == endOfText ? stream.push(Array("\n\n".utf8)) : stream.push(tokenizer.bytes(of: next))
            if !text.isEmpty { emit(text) }
            context.append(next)
            if produced == maxNewTokens { break }
            if inference.position == capacity {
                // Full: keep the newer half of the context and re-read it.
                context.removeFirst(context.count - capacity / 2)
                inference.reset()
                logits = try context.withUnsafeBufferPointer { try inference.append($0) }
            } else {
                logits = try withUnsafePointer(to: &next) { try inference.append(UnsafeBufferPointer(start: $0, count: 1)) }
            }
        }
        emit(stream.flush())
        return (produced, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
