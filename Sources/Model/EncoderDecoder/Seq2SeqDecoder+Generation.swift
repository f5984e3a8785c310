import Foundation

extension Seq2SeqDecoder {
    /// The (V) logits of row 0 after the last tokens appended.
    public var logits: UnsafeBufferPointer<Float> { logits(row: 0) }

    /// Reorders the cache rows as `sources` says (every decoder's beam reordering).
    public func reorder(_ sources: UnsafeBufferPointer<Int32>) { cache.reorder(sources) }

    /// Runs decoder input `id` at the next position of row 0; returns the next token's logits.
    @discardableResult
    public func append(_ id: Int32) throws -> UnsafeBufferPointer<Float> {
        var id = id
        try withUnsafePointer(to: &id) { try append(rows: UnsafeBufferPointer(start: $0, count: 1)) }
        return logits
    }

    /// Greedy decoding (Hugging Face `generate` with `do_sample=False, num_beams=1`): from the start
    /// token, the most likely next token (the first on ties) until EOS or `maxNewTokens`; returns the
    /// generated ids (EOS included when reached, the start token not).
    public func greedy(source: [Int32], maxNewTokens: Int) throws -> [Int32] {
        try decode(source: source, maxNewTokens: maxNewTokens) { TokenSampler.argmax($0) }
    }

    /// Sampling (`do_sample=True, num_beams=1`): each next token drawn by `sampler` (temperature, top-k,
    /// top-p, its seeded stream), until EOS or `maxNewTokens`; the ids as `greedy` returns them.
    public func sample(source: [Int32], maxNewTokens: Int, sampler: inout TokenSampler) throws -> [Int32] {
        try decode(source: source, maxNewTokens: maxNewTokens) { sampler.pick($0) }
    }

    /// Generation with Hugging Face `generate`'s `settings`: beam search when numBeams > 1 (the decoder
    /// needs that many rows), else sampling when doSample, else greedy, `sampler` (made from the
    /// settings when nil, then kept: one seeded stream over many sources) drawing. Throws one line for
    /// bad settings.
    public func generate(source: [Int32], settings: GenerationSettings, sampler: inout TokenSampler?) throws -> [Int32] {
        try settings.validate(vocabularySize: vocabularySize)
        return try decode(source: source, settings: settings, count: 1, sampler: &sampler)[0]
    }

    /// `settings.numReturnSequences` outputs for `source` (Hugging Face's `num_return_sequences`): the
    /// best beams, best first, when numBeams > 1; else that many samples drawn one after another from
    /// `sampler`'s stream (made from the settings when nil, then kept); greedy decoding has one output.
    /// The ids as `greedy` returns them. Throws one line for bad settings.
    public func generateSequences(source: [Int32], settings: GenerationSettings, sampler: inout TokenSampler?) throws -> [[Int32]] {
        try settings.validate(vocabularySize: vocabularySize)
        return try decode(source: source, settings: settings, count: settings.numReturnSequences, sampler: &sampler)
    }

    /// `count` outputs of validated `settings`: the best beams, or samples from `sampler`'s stream.
    private func decode(source: [Int32], settings: GenerationSettings, count: Int, sampler: inout TokenSampler?) throws -> [[Int32]] {
        if settings.numBeams > 1 { return try BeamSearch(inference: self, settings: settings).run(source: source, returning: count).map(\.ids) }
        if sampler == nil { sampler = try settings.sampler(vocabularySize: vocabularySize) }
        return try (0..<count).map { _ in try sample(source: source, maxNewTokens: settings.maxNewTokens, sampler: &sampler!) }
    }

    /// `generate` with a sampler of its own.
    public func generate(source: [Int32], settings: GenerationSettings) throws -> [Int32] {
        var sampler: TokenSampler?
        return try generate(source: source, settings: settings, sampler: &sampler)
    }

    private func decode(source: [Int32], maxNewTokens: Int, pick: (UnsafeBufferPointer<Float>) -> Int32) throws -> [Int32] {
        try start(source: source)
        var out: [Int32] = [], next = decoderStartTokenId
        out.reserveCapacity(maxNewTokens)
        for _ in 0..<maxNewTokens {
            next = pick(try append(next))
            out.append(next)
            if next == eosTokenId { break }
        }
        return out
    }
}
