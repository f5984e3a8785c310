import DataPipeline
import Model

extension TextPredictor {
    /// T5: the text's tokens and EOS through the encoder once, then decoding with the caches
    /// (`T5Inference`) as `generation` says (greedy, sampling, beam search) for up to
    /// `generation.maxNewTokens`; the output ids before EOS, decoded.
    func generateT5(_ text: String) throws -> TextPrediction {
        let tokenizer = try checkpoint.byteLevelTokenizer(explicit: tokenizerPath)  // T5 specials and sentinels: byte-level BPE for now
        let eos = (try? T5SpecialTokens(tokenizer: tokenizer))?.eos ?? checkpoint.config.t5Config.eosTokenId
        let source = tokenizer.encode(text) + [eos]
        let model = try checkpoint.t5(batch: 1, source: source.count, target: 1)
        do {
            let settings = generation, V = model.config.vocabSize
            try settings.validate(vocabularySize: V)
            let inference = try T5Inference(model: model, capacity: settings.maxNewTokens, rows: settings.numBeams)
            var ids: [Int32]
            if settings.numBeams > 1 {
                ids = try T5BeamSearch(inference: inference, settings: settings).run(source: source).ids
            } else {
                if sampler == nil { sampler = try settings.sampler(vocabularySize: V) }
                ids = try inference.sample(source: source, maxNewTokens: settings.maxNewTokens, sampler: &sampler!)
            }
            if ids.last == eos { ids.removeLast() }
            return .generated(tokenizer.decodeText(ids), ids: ids)
        } catch let e as ModelError {
            throw TrainingError(e.message, exitCode: 2)
        }
    }

    /// The paper's Transformer: the text's tokens and EOS (cut to training.seq_len as in training)
    /// through the encoder once, then greedy decoding from EOS with the caches (`TransformerInference`).
    func generateTransformer(_ text: String) throws -> TextPrediction {
        guard maxNewTokens >= 1 else { throw TrainingError("--max-new-tokens \(maxNewTokens) must be at least 1", exitCode: 2) }
        let tokenizer = try checkpoint.tokenizer(explicit: tokenizerPath)
        let model = try checkpoint.transformer(source: checkpoint.config.training.seqLen)
        let eos = model.config.eosTokenId
        let source = Array(tokenizer.encode(text, addSpecialTokens: false).prefix(model.acts.S - 1)) + [eos]
        do {
            var ids = try TransformerInference(model: model, capacity: min(maxNewTokens, model.config.maxPositions))
                .greedy(source: source, maxNewTokens: maxNewTokens)
            if ids.last == eos { ids.removeLast() }
            return .generated(tokenizer.decode(ids), ids: ids)
        } catch let e as ModelError {
            throw TrainingError(e.message, exitCode: 2)
        }
    }
}
