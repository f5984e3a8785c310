import DataPipeline
import Foundation
import Distributed
import Kernels
import Model
import Support

/// Fine-tunes a sequence classifier on labelled texts with cross-entropy and AdamW, data-parallel over
/// a communicator: a BERT (`FineTuner<BERT>`, `[CLS] text [SEP]` padded with an attention mask, the
/// head on the pooled [CLS]) or a GPT (`FineTuner<GPT>`, the text's tokens, the head on the last one).
///
/// The body can start from a pretrained model (`loadBody(from:)`: every same-named, same-shaped tensor
/// is copied; the new head stays freshly initialised unless the source has it), and can be frozen
/// (`freezeBody`): the optimizer then covers only the head (`classifierHeadStart` on), so AdamW's weight
/// decay cannot move the body either. Examples are visited in a seeded permutation per epoch,
/// micro-batch by micro-batch.
public final class FineTuner<Classifier: SequenceClassifier> {
    /// The classifier being trained.
    public let model: Classifier
    /// Sequences per step (B) and tokens per sequence (T).
    public let microBatch: Int, sequenceLength: Int
    private let tokenizer: HuggingFaceTokenizer
    private let input: Classifier.Input
    private let optimizer: Optimizer
    private let seed: UInt64
    private let width: Int                              // W: text tokens per example
    private let content: UnsafeMutablePointer<Int32>   // (B, W)
    private let lengths: UnsafeMutablePointer<Int>      // (B)
    private let labels: UnsafeMutablePointer<Int32>     // (B)

    /// A classifier of `config` (numLabels > 0) over texts encoded by `tokenizer` (for BERT it must have
    /// BERT's special tokens), initialised from `seed`; one-line `ModelError`/`DataError` otherwise.
    public init(config: Classifier.Config, tokenizer: HuggingFaceTokenizer, microBatch: Int, sequenceLength: Int,
                settings: Optimizer.Settings, seed: UInt64, freezeBody: Bool = false) throws {
        (model, input) = try Classifier.makeClassifier(config: config, tokenizer: tokenizer, microBatch: microBatch,
                                                       sequenceLength: sequenceLength, seed: seed)
        model.initializeWeights(seed: seed)
        self.tokenizer = tokenizer
        self.microBatch = microBatch
        self.sequenceLength = sequenceLength
        self.seed = seed
        optimizer = try Optimizer(layout: model.layout, settings: settings,
                                   shard: freezeBody ? model.classifierHeadStart..<model.layout.count : nil)
        width = Classifier.contentLength(sequenceLength: sequenceLength)
        content = .allocate(capacity: microBatch * width); content.initialize(repeating: 0, count: microBatch * width)
        lengths = .allocate(capacity: microBatch); lengths.initialize(repeating: 0, count: microBatch)
        labels = .allocate(capacity: microBatch); labels.initialize(repeating: 0, count: microBatch)
    }

    deinit { content.deallocate(); lengths.deallocate(); labels.deallocate() }

    /// Runs the classifier's linear layers with bf16 operands from now on (mixed precision; weights,
    /// gradients and AdamW stay fp32).
    public func useBF16(_ bf16: BF16Matmul) throws { try model.useBF16(bf16) }

    /// Copies every tensor of `pretrained` whose name and shape this classifier shares (the body, and
    /// a head the source already has); returns the names left as initialised (the new head).
    @discardableResult
    public func loadBody(from pretrained: some LanguageModel) -> [String] {
        let sources = Dictionary(pretrained.layout.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var fresh: [String] = []
        for t in model.layout.tensors {
            guard let source = sources[t.name], source.shape == t.shape else { fresh.append(t.name); continue }
            (model.params.pointer + t.offset).update(from: pretrained.params.pointer + source.offset, count: t.count)
        }
        return fresh
    }

    /// Fills the batch from examples `indices` (B of them: each text's first W tokens, zeros after) and
    /// runs the classifier, with labels when `withLabels`.
    private func forward(_ data: ClassificationDataset, _ indices: ArraySlice<Int>, withLabels: Bool) throws -> Float {
        for (b, i) in indices.enumerated() {
            let ids = tokenizer.encode(data.texts[i], addSpecialTokens: false).prefix(width)
            let row = content + b * width
            for (k, id) in ids.enumerated() { row[k] = id }
            (row + ids.count).update(repeating: 0, count: width - ids.count)
            lengths[b] = ids.count
            labels[b] = data.labels[i]
        }
        return try model.classify(input, content: content, lengths: lengths, labels: withLabels ? labels : nil, B: microBatch, T: sequenceLength)
    }

    /// One finished step, for `train`'s `onStep`.
    public typealias Step = FineTuneStep

    /// Steps trained so far: the next step starts at this index of the data order and dropout stream,
    /// so that training on from a checkpoint (`resume(step:)`) repeats an uninterrupted run bitwise.
    public private(set) var stepsDone = 0

    /// The optimizer (its moments over `shard` and step count, for checkpoints).
    public var adam: Optimizer { optimizer }

    /// Continues after `step` steps: the parameters and the optimizer's moments must already hold that
    /// step's values (a checkpoint's).
    public func resume(step: Int) {
        precondition(step >= 0, "a negative step")
        stepsDone = step
        optimizer.setStep(step)
    }

    /// Trains `steps` more steps at learning rate `lr`; returns each step's loss (the mean over ranks).
    /// With `comm` every rank must call this with the same data and steps. `onStep` sees each finished
    /// step and returns false to stop after it (every rank must answer the same).
    ///
    /// Step s (0-based over the run) reads slot s mod E of epoch s / E of the seeded order, where E is
    /// the number of whole global batches (B × ranks) in the data; its dropout seed is a function of s.
    public func train(_ data: ClassificationDataset, steps: Int, lr: Float, comm: (any Communicator)? = nil,
                      onStep: ((Step) throws -> Bool)? = nil) throws -> [Float] {
        let ranks = comm?.size ?? 1, rank = comm?.rank ?? 0
        let global = microBatch * ranks
        guard data.texts.count >= global else {
            throw ModelError("the training set has \(data.texts.count) examples, fewer than one micro-batch of \(microBatch)\(ranks > 1 ? " on each of \(ranks) ranks" : ""); lower the micro-batch")
        }
        let perEpoch = data.texts.count / global
        var losses: [Float] = []
        var order = FineTuneLoop.Order(seed: seed, count: data.texts.count)
        model.training = true
        model.bf16?.refreshWeights()   // the weights may have been loaded since it was attached
        for step in stepsDone..<(stepsDone + steps) {
            let rows = order.of(epoch: step / perEpoch)
            model.dropoutSeed = seed &+ UInt64(step) &* 1_000_003 &+ UInt64(rank) &* 0x5851_F42D_4C95_7F2D
            let first = (step % perEpoch) * global + rank * microBatch
            var loss = try forward(data, rows[first..<(first + microBatch)], withLabels: true)
            model.zeroGrad()
            model.backward(lossScale: 1, onReady: nil)
            if let comm, ranks > 1 {
                let inverse = 1 / Float(ranks)
                loss = try FineTuneLoop.sum(model.grads, loss: loss, comm: comm, step: step) * inverse
                let g = model.grads.pointer
                for i in 0..<model.grads.count { g[i] *= inverse }
            }
            losses.append(loss)
            stepsDone = step + 1
            guard try FineTuneLoop.update(model, optimizer, lr: lr, step: step, loss: loss, onStep: onStep) else { break }
        }
        return losses
    }

    /// The predicted label of every text (argmax of the classifier), in order.
    public func predict(_ data: ClassificationDataset) throws -> [Int32] {
        var predictions: [Int32] = []
        try eachLogits(data) { _, row, K in
            var best = 0
            for k in 1..<K where row[k] > row[best] { best = k }
            predictions.append(Int32(best))
        }
        return predictions
    }

    /// The share of texts whose predicted label is their label.
    public func accuracy(_ data: ClassificationDataset) throws -> Double {
        try evaluate(data).accuracy
    }

    /// Accuracy and mean cross-entropy (nats, from each text's logits in Double) over every text of
    /// `data`, in eval mode (no dropout).
    public func evaluate(_ data: ClassificationDataset) throws -> (accuracy: Double, loss: Double) {
        var correct = 0, loss = 0.0
        try eachLogits(data) { i, row, K in
            var best = 0, top = Double(row[0])
            for k in 1..<K where row[k] > row[best] { best = k; top = Double(row[k]) }
            var sum = 0.0
            for k in 0..<K { sum += Foundation.exp(Double(row[k]) - top) }
            loss += top + Foundation.log(sum) - Double(row[Int(data.labels[i])])
            if best == Int(data.labels[i]) { correct += 1 }
        }
        let n = Double(max(1, data.texts.count))
        return (Double(correct) / n, loss / n)
    }

    /// Runs the classifier in eval mode over `data`, micro-batch by micro-batch, and hands each text's
    /// index and (K) logits to `body`, in order.
    private func eachLogits(_ data: ClassificationDataset, _ body: (Int, UnsafeMutablePointer<Float>, Int) -> Void) throws {
        model.training = false
        defer { model.training = true }
        let K = model.numLabels
        var start = 0
        while start < data.texts.count {
            let end = min(start + microBatch, data.texts.count)
            // The last batch is filled up by repeating its first example; only the real rows count.
            let indices = Array(start..<end) + Array(repeating: start, count: microBatch - (end - start))
            _ = try forward(data, indices[...], withLabels: false)
            for b in 0..<(end - start) { body(start + b, model.sequenceLogits + b * K, K) }
            start = end
        }
    }
}
