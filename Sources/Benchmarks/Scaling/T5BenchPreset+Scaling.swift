import Config
import DataPipeline
import Model

/// T5 in `bench scaling` learns span corruption as `pretrain train` does: `training.seq_len` is the
/// encoder's S, each row reads the raw tokens whose corruption fills S, and the decoder's targets are
/// the dropped spans (T from the default noise density 0.15 and mean span length 3: 58 for S 256).
extension T5BenchPreset: ScalingPreset {
    public func configure(_ config: inout RunConfig) {
        let c = self.config
        config.family.arch = .t5
        (config.model.vocabSize, config.model.dModel, config.model.nHead, config.model.nLayer) = (c.vocabSize, c.dModel, c.numHeads, c.numLayers)
        (config.model.layerNormEps, config.model.residualDropout) = (c.layerNormEps, c.dropoutRate)
        (config.model.attentionDropout, config.model.embeddingDropout) = (0, 0)
        (config.family.dKV, config.family.intermediateSize, config.family.numDecoderLayers) = (c.dKV, c.dFF, c.numDecoderLayers)
        (config.family.relativeAttentionNumBuckets, config.family.relativeAttentionMaxDistance) =
            (c.relativeAttentionNumBuckets, c.relativeAttentionMaxDistance)
        (config.family.feedForwardProj, config.family.tieWordEmbeddings) = (c.feedForward, c.tieWordEmbeddings)
        config.training.microBatch = batch
        config.training.seqLen = sourceLength
    }

    /// The decoder's target length after span corruption of S source tokens at the default settings.
    public var corruptedTargetLength: Int {
        let f = RunConfig().family
        return SpanCorruption.lengths(inputsLength: sourceLength, noiseDensity: f.noiseDensity, meanSpanLength: f.meanNoiseSpanLength).targets
    }

    public var tokensPerStep: Int { batch * (sourceLength + corruptedTargetLength) }
    /// T5 is held to the no-sync goal (≥ 0.97×) only; GPT's speed-up and exposure goals are GPT's.
    public var speedupGoal: String? { nil }
    public var exposedGoal: String? { nil }
    public var parameterCount: Int { T5Layout(config: config).count }
    public var scalingSummary: String {
        "B=\(batch) S=\(sourceLength), span-corrupted targets T=\(corruptedTargetLength) per rank (tokens/s counts B·(S+T))"
    }
    public var vocabularySize: Int { config.vocabSize }

    /// A byte-level tokenizer (ids 0…255) followed by the default specials (pad and end of text among
    /// them) and 100 sentinels, `<extra_id_0>` highest, as `pretrain data prepare --extra-ids 100` places them.
    public func writeTokenizer(directory: String) throws -> (path: String, reserved: Range<Int32>) {
        let specials = AddedToken.defaultSpecials + T5SpecialTokens.sentinelNames(100).reversed()
        let added = specials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        let path = directory + "/tokenizer.json"
        try Tokenizer(tokens: (0..<256).map { [UInt8($0)] }, merges: [], addedTokens: added).save(to: path)
        return (path, 256..<Int32(256 + specials.count))
    }
}
