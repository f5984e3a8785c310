import Foundation

extension T5Inference {
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
    /// needs that many rows), else sampling when doSample, else greedy. Throws one line for bad settings.
    public func generate(source: [Int32], settings: GenerationSettings) throws -> [Int32] {
        try settings.validate(vocabularySize: model.config.vocabSize)
        if settings.numBeams > 1 { return try T5BeamSearch(inference: self, settings: settings).run(source: source).ids }
        var sampler = try settings.sampler(vocabularySize: model.config.vocabSize)
        return try sample(source: source, maxNewTokens: settings.maxNewTokens, sampler: &sampler)
    }

    private func decode(source: [Int32], maxNewTokens: Int, pick: (UnsafeBufferPointer<Float>) -> Int32) throws -> [Int32] {
        try start(source: source)
        var out: [Int32] = [], next = model.config.decoderStartTokenId
        out.reserveCapacity(maxNewTokens)
        for _ in 0..<maxNewTokens {
            next = pick(try append(next))
            out.append(next)
            if next == model.config.eosTokenId { break }
        }
        return out
    }
}
