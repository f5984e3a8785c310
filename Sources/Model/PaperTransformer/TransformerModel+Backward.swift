import Kernels

/// The Transformer's backward: the output projection, the decoder (which also yields the gradient
/// w.r.t. the encoder's output through cross-attention), then the encoder. Ranges are reported as they
/// become final, from the high end of the buffer down (see `TransformerLayout`); the shared embedding,
/// read by both stacks and the projection, is final last.
extension TransformerModel {
    /// Adds the gradient of `lossScale` × (the last forward's loss) to `grads`.
    public func backward(lossScale: Float = 1, onReady: ((Range<Int>) -> Void)? = nil) {
        let B = lastB, S = lastS, T = lastT, C = config.dModel, N = B * T
        var d = acts.pointer(.dResidual), e = acts.pointer(.dNorm)
        headBackward(lossScale: lossScale, logits: logits, into: d, input: acts.pointer(.decoderOut), weight: layout.embedding, C: C)
        timed(.other) {
            finalNormBackward(into: e, dout: d, inp: decoderInput(config.numDecoderLayers), at: layout.decoderNorm, .decoderMean, .decoderRstd, N: N)
            VectorMath.zero(acts.pointer(.dEncoderOut), count: B * S * C)
        }
        swap(&d, &e)
        onReady?(layout.decoderNormRange)
        stackBackward(decoder, layers: config.numDecoderLayers, input: decoderInput, range: layout.decoderLayerRange, step: decoderStep,
                      d: &d, e: &e, onReady: onReady)
        timed(.other) { embeddingBackward(.decoderEmbedding, dout: d, tokens: decoderTokens, N: N) }
        // Encoder: from d(encoder output) through its final norm.
        let NS = B * S
        timed(.other) {
            finalNormBackward(into: e, dout: acts.pointer(.dEncoderOut), inp: encoderInput(config.numEncoderLayers), at: layout.encoderNorm,
                              .encoderMean, .encoderRstd, N: NS)
        }
        swap(&d, &e)
        onReady?(layout.encoderNormRange)
        stackBackward(encoder, layers: config.numEncoderLayers, input: encoderInput, range: layout.encoderLayerRange, step: encoderStep,
                      d: &d, e: &e, onReady: onReady)
        timed(.other) { embeddingBackward(.encoderEmbedding, dout: d, tokens: sourceTokens, N: NS) }
        onReady?(layout.embeddingRange)
    }

    /// A stack's layers from the last down: `d` holds d(stack output) on entry and d(stack input) on exit.
    private func stackBackward(_ stack: TransformerBlock, layers: Int, input: (Int) -> UnsafePointer<Float>, range: (Int) -> Range<Int>,
                               step: BlockStep, d: inout UnsafeMutablePointer<Float>, e: inout UnsafeMutablePointer<Float>,
                               onReady: ((Range<Int>) -> Void)?) {
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let start = range(l).lowerBound
            (d, e) = stack.backward(layer: l, input: input(l), params: params.pointer + start, grads: grads.pointer + start, d: d, e: e,
                                    step: step, profile: profile)
            onReady?(range(l))
        }
    }

    /// out = layernorm(inp) with the weight at `offset` and the bias after it: writes d(inp) into `into`
    /// (zeroed first) from d(out) `dout`, and adds the weight and bias gradients.
    private func finalNormBackward(into dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, at offset: Int,
                                   _ mean: TransformerActivations.Global, _ rstd: TransformerActivations.Global, N: Int) {
        let C = config.dModel
        VectorMath.zero(dinp, count: N * C)
        LayerNorm.backward(dinp: dinp, dweight: grads.pointer + offset, dbias: grads.pointer + offset + C, dout: dout, inp: inp,
                           weight: params.pointer + offset, mean: acts.pointer(mean), rstd: acts.pointer(rstd), N: N, C: C)
    }

    /// The shared embedding's gradient from the rows `tokens` (N) looked up: through the site's dropout
    /// and the √C scale (the positions are fixed).
    private func embeddingBackward(_ site: TransformerActivations.DropoutSite, dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, N: Int) {
        let C = config.dModel, dRows = acts.pointer(.dBranch)
        if decoderStep.dropping, config.dropout > 0 {
            VectorMath.zero(dRows, count: N * C)
            Dropout.backward(dinp: dRows, dout: dout, mask: acts.mask(site), count: N * C, p: config.dropout)
        } else {
            dRows.update(from: dout, count: N * C)
        }
        VectorMath.scale(dRows, count: N * C, by: embeddingScale)
        Embedding.backward(dwte: grads.pointer + layout.embedding, dwpe: nil, dout: dRows, tokens: tokens, B: 1, T: N, C: C)
    }
}

/// The shared embedding is also the output projection and is read by both stacks, so its rows are
/// added in place (`LanguageModel`'s defaults: nothing deferred).
extension TransformerModel: LanguageModel {}
