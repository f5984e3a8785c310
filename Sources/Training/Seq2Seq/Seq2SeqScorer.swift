import DataPipeline
import Model

/// Any encoder-decoder (`T5`, `TransformerModel`) on (source, target) token rows in padded
/// micro-batches (`Seq2SeqBatch`): the teacher-forced forward, the loss and token accuracy over the
/// targets, and generation with the family's cached decoder. Shared by fine-tuning (`Seq2SeqTuner`) and
/// `pretrain eval` (`Seq2SeqEvaluation`).
public final class Seq2SeqScorer {
    /// The model (built for batches of at least `microBatch` rows and the rows' limits).
    public let model: EncoderDecoderModel
    /// Pairs per forward.
    public let microBatch: Int
    /// The current micro-batch.
    public let batch: Seq2SeqBatch
    private let eos: Int32
    private let decoder: (_ capacity: Int, _ rows: Int) throws -> any Seq2SeqDecoder

    /// A scorer of `model` whose batches pad with `pad` and start the decoder with `decoderStart`;
    /// `decoder(capacity, rows)` makes the family's incremental decoder of `rows` rows (beams), whose
    /// outputs end at `eos`.
    public init(model: EncoderDecoderModel, microBatch: Int, pad: Int32, decoderStart: Int32, eos: Int32,
                decoder: @escaping (_ capacity: Int, _ rows: Int) throws -> any Seq2SeqDecoder) {
        precondition(microBatch >= 1 && microBatch <= model.maxBatch, "micro-batch \(microBatch) for a model of \(model.maxBatch)")
        self.model = model
        self.microBatch = microBatch
        self.eos = eos
        self.decoder = decoder
        batch = Seq2SeqBatch(capacity: microBatch, maxSource: model.maxSource, maxTarget: model.maxTarget, pad: pad,
                             decoderStart: decoderStart, ignoreIndex: model.ignoreIndex)
    }

    /// A scorer of a T5 (its pad, start and EOS ids; `T5Inference`).
    public convenience init(t5 model: T5, microBatch: Int) {
        let c = model.config
        self.init(model: model, microBatch: microBatch, pad: c.padTokenId, decoderStart: c.decoderStartTokenId, eos: c.eosTokenId) {
            try T5Inference(model: model, capacity: $0, rows: $1)
        }
    }

    /// A scorer of the paper's Transformer (pad; EOS starts the decoder; `TransformerInference`).
    public convenience init(transformer model: TransformerModel, microBatch: Int) {
        let c = model.config
        self.init(model: model, microBatch: microBatch, pad: c.padTokenId, decoderStart: c.eosTokenId, eos: c.eosTokenId) {
            try TransformerInference(model: model, capacity: min($0, c.maxPositions), rows: $1)
        }
    }

    /// Forward on pairs `indices` of `data` with the targets; returns the mean loss over their targets.
    @discardableResult
    func forward(_ data: Seq2SeqExamples, _ indices: some Collection<Int>) throws -> Float {
        batch.fill(sources: data.sources, targets: data.targets, indices: indices)
        return try model.forward(source: batch.source, sourceMask: batch.sourceMask, decoderInput: batch.decoderInput, targets: batch.labels,
                                 B: batch.rows, S: batch.S, T: batch.T)
    }

    /// Mean cross-entropy per target token (nats; label-smoothed where the model smooths, as its
    /// training loss) and the share of target tokens the model predicts (argmax, teacher-forced) over
    /// pairs `range` of `data` (default: all), in eval mode. Returns the sums (loss × tokens, correct,
    /// tokens) so that ranks can add theirs.
    public func evaluate(_ data: Seq2SeqExamples, range: Range<Int>? = nil) throws -> (lossSum: Double, correct: Double, tokens: Double) {
        model.training = false
        defer { model.training = true }
        let V = model.vocabularySize
        var lossSum = 0.0, correct = 0.0, tokens = 0.0
        let all = range ?? 0..<data.count
        var start = all.lowerBound
        while start < all.upperBound {
            let end = min(start + microBatch, all.upperBound)
            let mean = try forward(data, start..<end)
            lossSum += Double(mean) * Double(batch.targetTokens)
            tokens += Double(batch.targetTokens)
            for i in 0..<(batch.rows * batch.T) where batch.labels[i] != model.ignoreIndex {
                let row = model.logits + i * V
                var best = 0
                for v in 1..<V where row[v] > row[best] { best = v }
                if best == Int(batch.labels[i]) { correct += 1 }
            }
            start = end
        }
        return (lossSum, correct, tokens)
    }

    /// Greedy generation with the family's cached decoder for the sources of pairs `range`, up to
    /// `maxNewTokens` each (at most the Transformer's max_seq_len positions); the ids before EOS.
    public func generate(_ data: Seq2SeqExamples, range: Range<Int>, maxNewTokens: Int) throws -> [[Int32]] {
        var greedy = GenerationSettings()
        greedy.maxNewTokens = maxNewTokens
        return try generate(data, range: range, settings: greedy)
    }

    /// Generation as Hugging Face `generate` with `settings` (greedy, or beam search with
    /// `numBeams` > 1; sampling is not an evaluation) for the sources of pairs `range`, up to
    /// `settings.maxNewTokens` each (at most the Transformer's max_seq_len positions); the ids before
    /// EOS. Throws one line (`ModelError`) naming a bad flag.
    public func generate(_ data: Seq2SeqExamples, range: Range<Int>, settings: GenerationSettings) throws -> [[Int32]] {
        precondition(!settings.doSample, "evaluation decodes deterministically")
        try settings.validate(vocabularySize: model.vocabularySize)
        model.training = false
        defer { model.training = true }
        let inference = try decoder(settings.maxNewTokens, settings.numBeams)
        var settings = settings
        settings.maxNewTokens = min(settings.maxNewTokens, inference.cache.capacity)
        let search = settings.numBeams > 1 ? try BeamSearch(inference: inference, settings: settings) : nil
        return try range.map { i in
            var ids = try search?.run(source: data.sources[i]).ids ?? inference.greedy(source: data.sources[i], maxNewTokens: settings.maxNewTokens)
            if ids.last == eos { ids.removeLast() }
            return ids
        }
    }
}
