import Config
import Model

extension BenchPreset: ScalingPreset {
    public func configure(_ config: inout RunConfig) {
        config.model = self.config
        config.training.microBatch = batch
        config.training.seqLen = seqLen
    }

    public var tokensPerStep: Int { batch * seqLen }
    public var parameterCount: Int { GPTLayout(config: config).count }
    public var scalingSummary: String { "B=\(batch) T=\(seqLen) per rank" }
    public var vocabularySize: Int { config.vocabSize }

    /// GPT trains on raw ids: no tokenizer.
    public func writeTokenizer(directory: String) throws -> (path: String, reserved: Range<Int32>) { ("", 0..<0) }
}
