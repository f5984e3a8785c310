import DataPipeline
import Model

extension TextPredictor {
    /// T5: the text's tokens and EOS through the encoder once, then greedy decoding with the caches
    /// (`T5Inference`) for up to `maxNewTokens`; the output ids before EOS, decoded.
    func generateT5(_ text: String) throws -> TextPrediction {
        guard maxNewTokens >= 1 else { throw TrainingError("--max-new-tokens \(maxNewTokens) must be at least 1", exitCode: 2) }
        let tokenizer = try checkpoint.byteLevelTokenizer(explicit: tokenizerPath)  // T5 specials and sentinels: byte-level BPE for now
        let eos = (try? T5SpecialTokens(tokenizer: tokenizer))?.eos ?? checkpoint.config.t5Config.eosTokenId
        let source = tokenizer.encode(text) + [eos]
        let model = try checkpoint.t5(batch: 1, source: source.count, target: 1)
        do {
            var ids = try T5Inference(model: model, capacity: maxNewTokens).greedy(source: source, maxNewTokens: maxNewTokens)
            if ids.last == eos { ids.removeLast() }
            return .generated(tokenizer.decodeText(ids), ids: ids)
        } catch let e as ModelError {
            throw TrainingError(e.message, exitCode: 2)
        }
    }
}
