import DataPipeline
import Model

extension TextPredictor {
    /// T5: the task prefix (`prefix`, else the checkpoint's) and the text, its tokens and EOS through
    /// the encoder once, then decoding with the caches (`T5Inference`) as `generation` says (greedy,
    /// sampling, beam search) for up to `generation.maxNewTokens`; the output ids before EOS, decoded.
    func generateT5(_ text: String, task: Task) throws -> TextPrediction {
        let tokenizer = try checkpoint.byteLevelTokenizer(explicit: tokenizerPath)  // T5 specials and sentinels: byte-level BPE for now
        let eos = (try? T5SpecialTokens(tokenizer: tokenizer))?.eos ?? checkpoint.config.t5Config.eosTokenId
        let taskPrefix = prefix ?? checkpoint.config.data.sourcePrefix
        let source = tokenizer.encode(text.hasPrefix(taskPrefix) ? text : taskPrefix + text) + [eos]
        let model = try checkpoint.t5(batch: 1, source: source.count, target: 1)
        let outputs = try decode(source, vocabularySize: model.config.vocabSize) {
            try T5Inference(model: model, capacity: $0.maxNewTokens, rows: $0.numBeams)
        }
        return .generated(outputs.map { (tokenizer.decodeText($0), $0) }, field: task.outputField)
    }

    /// The paper's Transformer: the text's tokens and EOS (cut to training.seq_len as in training)
    /// through the encoder once, then decoding from EOS with the caches (`TransformerInference`) as
    /// `generation` says, as for T5.
    func generateTransformer(_ text: String, task: Task) throws -> TextPrediction {
        guard prefix == nil else {
            throw TrainingError("--prefix applies to T5; \(checkpoint.directory) is a Transformer checkpoint, trained on its sources as they are — drop --prefix", exitCode: 2)
        }
        let tokenizer = try checkpoint.tokenizer(explicit: tokenizerPath)
        let model = try checkpoint.transformer(source: checkpoint.config.training.seqLen)
        let source = Array(tokenizer.encode(text, addSpecialTokens: false).prefix(model.acts.S - 1)) + [model.config.eosTokenId]
        let outputs = try decode(source, vocabularySize: model.config.vocabSize) {
            try TransformerInference(model: model, capacity: min($0.maxNewTokens, model.config.maxPositions), rows: $0.numBeams)
        }
        return .generated(outputs.map { (tokenizer.decode($0), $0) }, field: task.outputField)
    }

    /// Checks `generation`, makes the decoder for it and generates from `source` (beam search, or
    /// sampling with the predictor's sampler, kept across texts so that a seed gives one stream):
    /// `numReturnSequences` outputs, best first, the ids before EOS. Bad settings are one line (exit
    /// status 2).
    private func decode(_ source: [Int32], vocabularySize: Int, decoder: (GenerationSettings) throws -> any Seq2SeqDecoder) throws -> [[Int32]] {
        do {
            try generation.validate(vocabularySize: vocabularySize)
            let inference = try decoder(generation)
            return try inference.generateSequences(source: source, settings: generation, sampler: &sampler).map { ids in
                ids.last == inference.eosTokenId ? Array(ids.dropLast()) : ids
            }
        } catch let e as ModelError {
            throw TrainingError(e.message, exitCode: 2)
        }
    }
}
