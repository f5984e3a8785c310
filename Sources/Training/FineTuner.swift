import Data
import Distributed
import Model

/// Fine-tunes a BERT sequence classifier (`BERTConfig.numLabels` > 0) on labelled texts: `[CLS] text
/// [SEP]`, padded with an attention mask, cross-entropy on the pooled [CLS], AdamW. One process.
///
/// The body can start from a pretrained model (`loadBody(from:)`: every same-named, same-shaped tensor
/// is copied; the pooler and classifier stay freshly initialised unless the source has them), and can
/// be frozen (`freezeBody`): the optimizer then covers only the tensors after the encoder (pooler and
/// classifier), so AdamW's weight decay cannot move the body either. Examples are visited in a seeded
/// permutation per epoch, micro-batch by micro-batch.
public final class FineTuner {
    /// The classifier being trained.
    public let model: BERT
    /// Sequences per step (B) and tokens per sequence (T).
    public let microBatch: Int, sequenceLength: Int
    private let tokenizer: Tokenizer
    private let builder: MLMMasker
    private let optimizer: AdamWOptimizer
    private let seed: UInt64
    private let content: UnsafeMutablePointer<Int32>   // (B, T − 2)
    private let lengths: UnsafeMutablePointer<Int>      // (B)
    private let labels: UnsafeMutablePointer<Int32>     // (B)
    private var order: [Int] = [], cursor = 0, epoch = 0

    /// A classifier of `config` (numLabels > 0) over texts encoded by `tokenizer`, which must have
    /// BERT's special tokens (one-line `DataError` otherwise).
    public init(config: BERTConfig, tokenizer: Tokenizer, microBatch: Int, sequenceLength: Int,
                settings: AdamWOptimizer.Settings, seed: UInt64, freezeBody: Bool = false) throws {
        guard config.numLabels > 0 else { throw ModelError("fine-tuning needs a classifier: set the number of labels (--labels N)") }
        let specials = try BERTSpecialTokens(tokenizer: tokenizer)
        try tokenizer.checkFits(modelVocabularySize: config.vocabSize)
        model = try BERT(config: config, maxBatch: microBatch, maxSeqLen: sequenceLength)
        model.initializeWeights(seed: seed)
        builder = try MLMMasker(microBatch: microBatch, sequenceLength: sequenceLength, vocabularySize: config.vocabSize,
                                specials: specials, seed: seed)
        builder.maskRate = 0
        self.tokenizer = tokenizer
        self.microBatch = microBatch
        self.sequenceLength = sequenceLength
        self.seed = seed
        let bodyEnd = model.layout.headStart + (config.norm == .pre ? 2 * config.dModel : 0)
        optimizer = AdamWOptimizer(layout: model.layout, settings: settings, shard: freezeBody ? bodyEnd..<model.layout.count : nil)
        let width = MLMMasker.contentLength(sequenceLength: sequenceLength, nextSentence: false)
        content = .allocate(capacity: microBatch * width); content.initialize(repeating: 0, count: microBatch * width)
        lengths = .allocate(capacity: microBatch); lengths.initialize(repeating: 0, count: microBatch)
        labels = .allocate(capacity: microBatch); labels.initialize(repeating: 0, count: microBatch)
    }

    deinit { content.deallocate(); lengths.deallocate(); labels.deallocate() }

    /// Copies every tensor of `pretrained` whose name and shape this classifier shares (the encoder,
    /// and the pooler when it has one); returns the names left as initialised (the new head).
    @discardableResult
    public func loadBody(from pretrained: BERT) -> [String] {
        var fresh: [String] = []
        for t in model.layout.tensors {
            guard let source = pretrained.layout.tensor(named: t.name), source.shape == t.shape else { fresh.append(t.name); continue }
            (model.params.pointer + t.offset).update(from: pretrained.params.pointer + source.offset, count: t.count)
        }
        return fresh
    }

    /// Fills the batch from examples `indices` (B of them) and runs forward with labels.
    private func forward(_ data: ClassificationDataset, _ indices: ArraySlice<Int>, withLabels: Bool) throws -> Float {
        let width = MLMMasker.contentLength(sequenceLength: sequenceLength, nextSentence: false)
        for (b, i) in indices.enumerated() {
            let ids = tokenizer.encode(data.texts[i]).prefix(width)
            for (k, id) in ids.enumerated() { content[b * width + k] = id }
            lengths[b] = ids.count
            labels[b] = data.labels[i]
        }
        builder.build(content: content, contentLength: width, lengths: lengths, firstSequence: 0)
        return try model.forward(tokens: builder.tokens.baseAddress!, segments: nil, attentionMask: builder.attentionMask.baseAddress!,
                                 targets: nil, sequenceLabels: withLabels ? labels : nil, B: microBatch, T: sequenceLength)
    }

    /// Trains `steps` steps at learning rate `lr`; returns each step's loss (the mean over ranks).
    /// With `comm` every rank must call this with the same data and steps.
    public func train(_ data: ClassificationDataset, steps: Int, lr: Float, comm: (any Communicator)? = nil) throws -> [Float] {
        let ranks = comm?.size ?? 1, rank = comm?.rank ?? 0
        let global = microBatch * ranks
        guard data.texts.count >= global else {
            throw ModelError("the training set has \(data.texts.count) examples, fewer than one micro-batch of \(microBatch)\(ranks > 1 ? " on each of \(ranks) ranks" : ""); lower the micro-batch")
        }
        var losses: [Float] = []
        var reduced = [Float](repeating: 0, count: 1)
        model.training = true
        for step in 0..<steps {
            if order.isEmpty || cursor + global > order.count {
                var rng = Model.SplitMix64(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
                order = Array(0..<data.texts.count).shuffled(using: &rng)
                cursor = 0
                epoch += 1
            }
            model.dropoutSeed = seed &+ UInt64(step) &* 1_000_003 &+ UInt64(rank) &* 0x5851_F42D_4C95_7F2D
            let first = cursor + rank * microBatch
            var loss = try forward(data, order[first..<(first + microBatch)], withLabels: true)
            cursor += global
            model.zeroGrad()
            model.backward()
            if let comm, ranks > 1 {
                do {
                    try comm.allreduce(model.grads.buffer, op: .sum)
                    reduced[0] = loss
                    try comm.allreduce(&reduced, op: .sum)
                } catch {
                    throw ModelError("fine-tuning step \(step + 1): the gradient allreduce failed (\(error)); check that every rank runs the same command")
                }
                let inverse = 1 / Float(ranks)
                let g = model.grads.pointer
                for i in 0..<model.grads.count { g[i] *= inverse }
                loss = reduced[0] * inverse
            }
            let clip = optimizer.clipScale(gradNorm: AdamWOptimizer.gradNorm(model.grads))
            optimizer.step(params: model.params, grads: model.grads, lr: lr, gradScale: clip)
            losses.append(loss)
        }
        return losses
    }

    /// The predicted label of every text (argmax of the classifier), in order.
    public func predict(_ data: ClassificationDataset) throws -> [Int32] {
        model.training = false
        defer { model.training = true }
        var predictions: [Int32] = []
        let K = model.config.numLabels
        var start = 0
        while start < data.texts.count {
            let end = min(start + microBatch, data.texts.count)
            // The last batch is filled up by repeating its first example; only the real rows count.
            let indices = Array(start..<end) + Array(repeating: start, count: microBatch - (end - start))
            _ = try forward(data, indices[...], withLabels: false)
            for b in 0..<(end - start) {
                let row = model.sequenceLogits + b * K
                var best = 0
                for k in 1..<K where row[k] > row[best] { best = k }
                predictions.append(Int32(best))
            }
            start = end
        }
        return predictions
    }

    /// The share of texts whose predicted label is their label.
    public func accuracy(_ data: ClassificationDataset) throws -> Double {
        let predicted = try predict(data)
        return Double(zip(predicted, data.labels).filter { $0 == $1 }.count) / Double(max(1, data.texts.count))
    }
}
