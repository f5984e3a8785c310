import Kernels

/// The sequence-classifier head of a GPT with `GPTConfig.numLabels` K > 0, as Hugging Face's
/// `GPT2ForSequenceClassification`: `score.weight` (K, C), no bias, applied to the final-LayerNorm
/// hidden state of each sequence's last real token (position length − 1; causal attention never looks
/// right, so whatever pads the rest of the row cannot change it). The LM head is not computed.
///
/// Shapes: B batch, T time, C channels, K labels, N = B·T. Backward shares the body backward with the
/// language model: only the head differs, and its dLN (N, C) is nonzero only at the B classified rows.
extension GPT {
    /// The (B, K) classifier logits of the last classifier forward (raw logits, with or without labels).
    public var sequenceLogits: UnsafeMutablePointer<Float> { acts.pointer(.sequenceLogits) }

    /// Runs the classifier on `tokens` (B, T), reading sequence b at position `lengths[b]` − 1
    /// (`lengths` (B), each in 1…T). With `labels` (B; `ignoreIndex` skips a sequence) it returns the
    /// mean cross-entropy over the labelled sequences (NaN if none; no label smoothing, as HF's
    /// classifier); without, 0. The logits are in `sequenceLogits` either way. Throws on a token outside
    /// the vocabulary, a length outside 1…T or a label outside 0..<K, before anything is computed.
    @discardableResult
    public func forward(tokens input: UnsafePointer<Int32>, lengths: UnsafePointer<Int>, labels label: UnsafePointer<Int32>?,
                        B: Int, T: Int) throws -> Float {
        let K = config.numLabels, C = config.dModel
        guard K > 0, let score = layout.score else {
            throw ModelError("this GPT is a language model (model.num_labels 0) with no classifier head; call forward(tokens:targets:B:T:) or build it with numLabels > 0")
        }
        precondition(B >= 1 && B <= acts.B && T >= 1 && T <= acts.T, "batch (\(B), \(T)) exceeds the allocated (\(acts.B), \(acts.T))")
        for b in 0..<B {
            guard lengths[b] >= 1, lengths[b] <= T else {
                throw ModelError("sequence \(b) has length \(lengths[b]); it must be in 1…\(T) (the classified token is at length − 1)")
            }
            if let label, label[b] != config.ignoreIndex, label[b] < 0 || Int(label[b]) >= K {
                throw ModelError("label \(label[b]) of sequence \(b) is outside 0..<\(K) (or \(config.ignoreIndex) to skip it)")
            }
        }
        let mark = try forwardBody(tokens: input, B: B, T: T)
        let lnf = acts.pointer(.lnf), pooled = acts.pointer(.pooled), logits = sequenceLogits
        for b in 0..<B {
            classifiedRows[b] = b * T + lengths[b] - 1
            (pooled + b * C).update(from: lnf + classifiedRows[b] * C, count: C)
        }
        timed(.matmul) { Linear.forwardTransposed(out: logits, inp: pooled, weight: params.pointer + score, N: B, IC: C, OC: K, precision: bf16) }
        if let label { labels.update(from: label, count: B) }
        return finishForward(label == nil ? nil : .classifier, start: mark) {
            CrossEntropy.forward(losses: acts.pointer(.sequenceLosses), probs: acts.pointer(.sequenceProbs), logits: logits,
                                 targets: labels, N: B, V: K, ignoreIndex: config.ignoreIndex)
        }
    }

    /// The score head's backward: logit gradients (B, K) from the probabilities, the score gradient,
    /// and dLN (N, C): zero except the classified rows, which get dpooled.
    func classifierHeadBackward(scale: Float) {
        let B = lastB, N = B * lastT, C = config.dModel, K = config.numLabels
        let score = layout.score!
        let dlogits = acts.pointer(.sequenceProbs), dpooled = acts.pointer(.dPooled), dln = acts.pointer(.dLN)
        timed(.loss) { CrossEntropy.backward(dlogits: dlogits, probs: dlogits, targets: labels, scale: scale, N: B, V: K, ignoreIndex: config.ignoreIndex) }
        timed(.other) { VectorMath.zero(dpooled, count: B * C) }
        timed(.matmul) {
            Linear.backwardTransposed(dinp: dpooled, dweight: grads.pointer + score, dout: dlogits, inp: acts.pointer(.pooled),
                                      weight: params.pointer + score, N: B, IC: C, OC: K, precision: bf16)
        }
        timed(.other) {
            VectorMath.zero(dln, count: N * C)
            for b in 0..<B { (dln + classifiedRows[b] * C).update(from: dpooled + b * C, count: C) }
        }
    }
}
