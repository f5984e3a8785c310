import Foundation
import Kernels

/// BERT's heads: the MLM head (dense → GELU → LayerNorm → tied decoder + bias) on the rows it runs on,
/// and the pooler with the sequence head (NSP or classifier) on [CLS], forward and backward.
///
/// Shapes: B batch, T time, C channels, V vocab, K sequence labels, M rows of the MLM head.
extension BERT {
    /// transform = gelu(headIn·Wᵀ + b); headLN = LN(transform); logits = headLN·wordᵀ + decoder bias.
    func headForward(_ headIn: UnsafePointer<Float>, M: Int) {
        let C = config.dModel, V = config.vocabSize, p = params.pointer
        let transform = acts.pointer(.transform), gelu = acts.pointer(.transformGelu), hln = acts.pointer(.headLN)
        timed(.matmul) { Linear.forwardTransposed(out: transform, inp: headIn, weight: p + layout.transformWeight, bias: p + layout.transformBias, N: M, IC: C, OC: C, precision: bf16) }
        timed(.other) {
            GELU.forward(out: gelu, inp: transform, count: M * C, kind: .erf)
            LayerNorm.forward(out: hln, mean: acts.pointer(.headMean), rstd: acts.pointer(.headRstd), inp: gelu,
                              weight: p + layout.transformLNWeight, bias: p + layout.transformLNBias, N: M, C: C, eps: config.layerNormEps)
        }
        timed(.matmul) { Linear.forwardTransposed(out: logits, inp: hln, weight: p + layout.wordEmbeddings, bias: p + layout.decoderBias, N: M, IC: C, OC: V, precision: bf16) }
    }

    /// Hidden dropout on the pooled [CLS] of a classifier in this forward (0 when not training or NSP).
    var classifierDropout: Float { training && config.numLabels > 0 ? config.hiddenDropout : 0 }

    /// cls = hidden[b, 0]; pooled = tanh(cls·Wᵀ + b); sequenceLogits = dropout(pooled)·Wsᵀ + bs (B, K).
    func poolerForward(hidden: UnsafePointer<Float>, B: Int, T: Int) {
        let C = config.dModel, p = params.pointer
        let cls = acts.pointer(.cls), pre = acts.pointer(.pooledPre), pooled = acts.pointer(.pooled)
        for b in 0..<B { (cls + b * C).update(from: hidden + b * T * C, count: C) }
        Linear.forwardTransposed(out: pre, inp: cls, weight: p + layout.poolerWeight!, bias: p + layout.poolerBias!, N: B, IC: C, OC: C, precision: bf16)
        for i in 0..<(B * C) { pooled[i] = Foundation.tanh(pre[i]) }
        // A classifier sees the pooled output through hidden dropout (into `pre`, no longer needed).
        let headIn = classifierDropout > 0 ? pre : pooled
        if classifierDropout > 0 {
            Dropout.forward(out: pre, mask: acts.pooledMask, inp: pooled, count: B * C, p: classifierDropout, seed: dropoutSeed &+ 0x2000)
        }
        Linear.forwardTransposed(out: sequenceLogits, inp: headIn, weight: p + layout.sequenceWeight!, bias: p + layout.sequenceBias!,
                                 N: B, IC: C, OC: config.sequenceLabels, precision: bf16)
    }

    /// The MLM head backward on its M rows: logit gradients from the probabilities, the decoder (tied to
    /// the word embeddings) and its bias, the transform; adds each row's input gradient into `d` (B·T, C).
    func mlmHeadBackward(into d: UnsafeMutablePointer<Float>, lossScale: Float) {
        let C = config.dModel, V = config.vocabSize, M = headRows, p = params.pointer, gr = grads.pointer
        let dA = acts.pointer(.dHeadA), dB = acts.pointer(.dHeadB)
        timed(.loss) {
            CrossEntropy.backward(dlogits: logits, probs: logits, targets: rowTargets, scale: lossScale / Float(mlmCount), N: M, V: V,
                                  ignoreIndex: config.ignoreIndex)
        }
        timed(.other) { VectorMath.zero(dA, count: M * C) }
        timed(.matmul) {
            Linear.backwardTransposed(dinp: dA, dweight: gr + layout.wordEmbeddings, dbias: gr + layout.decoderBias, dout: logits,
                                      inp: acts.pointer(.headLN), weight: p + layout.wordEmbeddings, N: M, IC: C, OC: V, precision: bf16)
        }
        timed(.other) {
            VectorMath.zero(dB, count: M * C)
            LayerNorm.backward(dinp: dB, dweight: gr + layout.transformLNWeight, dbias: gr + layout.transformLNBias, dout: dA,
                               inp: acts.pointer(.transformGelu), weight: p + layout.transformLNWeight,
                               mean: acts.pointer(.headMean), rstd: acts.pointer(.headRstd), N: M, C: C)
            VectorMath.zero(dA, count: M * C)
            GELU.backward(dinp: dA, inp: acts.pointer(.transform), dout: dB, count: M * C, kind: .erf)
            VectorMath.zero(dB, count: M * C)
        }
        timed(.matmul) {
            Linear.backwardTransposed(dinp: dB, dweight: gr + layout.transformWeight, dbias: gr + layout.transformBias, dout: dA,
                                      inp: acts.pointer(.headIn), weight: p + layout.transformWeight, N: M, IC: C, OC: C, precision: bf16)
        }
        timed(.other) { for m in 0..<M { VectorMath.add(d + rows[m] * C, dB + m * C, count: C) } }
    }

    /// Sequence head (NSP or classifier) and pooler backward; adds d(hidden[b, 0]) into `dHidden` (B·T, C).
    func poolerBackward(into dHidden: UnsafeMutablePointer<Float>, lossScale: Float, B: Int, T: Int) {
        let C = config.dModel, p = params.pointer, gr = grads.pointer
        let dA = acts.pointer(.dHeadA), dB = acts.pointer(.dHeadB), dCls = acts.pointer(.dCls), pooled = acts.pointer(.pooled)
        let p0: Float = droppedInForward && config.numLabels > 0 ? config.hiddenDropout : 0
        let K = config.sequenceLabels
        CrossEntropy.backward(dlogits: sequenceLogits, probs: sequenceLogits, targets: sequenceTargets, scale: lossScale / Float(sequenceCount),
                              N: B, V: K, ignoreIndex: config.ignoreIndex)
        VectorMath.zero(dA, count: B * C)
        Linear.backwardTransposed(dinp: dA, dweight: gr + layout.sequenceWeight!, dbias: gr + layout.sequenceBias!, dout: sequenceLogits,
                                  inp: p0 > 0 ? acts.pointer(.pooledPre) : pooled, weight: p + layout.sequenceWeight!, N: B, IC: C, OC: K, precision: bf16)
        var dPooled = dA, dPre = dB
        if p0 > 0 {
            VectorMath.zero(dB, count: B * C)
            Dropout.backward(dinp: dB, dout: dA, mask: acts.pooledMask, count: B * C, p: p0)
            dPooled = dB; dPre = dA
        }
        for i in 0..<(B * C) { dPre[i] = dPooled[i] * (1 - pooled[i] * pooled[i]) }
        VectorMath.zero(dCls, count: B * C)
        Linear.backwardTransposed(dinp: dCls, dweight: gr + layout.poolerWeight!, dbias: gr + layout.poolerBias!, dout: dPre,
                                  inp: acts.pointer(.cls), weight: p + layout.poolerWeight!, N: B, IC: C, OC: C, precision: bf16)
        for b in 0..<B { VectorMath.add(dHidden + b * T * C, dCls + b * C, count: C) }
    }
}
