import Kernels

/// T5's backward: the head, the decoder (which also yields the gradient w.r.t. the encoder's output
/// through cross-attention), then the encoder. Ranges are reported as they become final, from the
/// high end of the buffer down (see `T5Layout`); when the lookups' rows are deferred, the shared
/// embedding comes right after the head.
extension T5 {
    /// Adds the gradient of `lossScale` × (the last forward's loss) to `grads`.
    public func backward(lossScale: Float = 1, onReady: ((Range<Int>) -> Void)? = nil) {
        _ = backward(lossScale: lossScale, onReady: onReady, deferringTokenEmbedding: false)
    }

    /// The shared embedding (V, C), which `backward` can leave both lookups' rows out of.
    public var deferrableEmbeddingRange: Range<Int>? { layout.sharedRange }

    /// One row per decoder and per encoder input token of the largest batch.
    public var deferrableEmbeddingRows: Int { maxBatch * (maxSource + maxTarget) }

    /// Backward as `backward(lossScale:onReady:)`; when `deferringTokenEmbedding`, the gradient that
    /// flows into the shared embedding through the decoder's and the encoder's input lookups is not
    /// added to `grads` but returned as rows, the decoder's B·T first, then the encoder's B·S (add them
    /// with `Embedding.backward` to get the same gradient up to rounding). The shared range then holds
    /// only the tied head's product (zeros when untied), is final right after the head and is reported
    /// first, so it is sent while the stacks' backward runs. Returns nil when not deferring.
    public func backward(lossScale: Float, onReady: ((Range<Int>) -> Void)?, deferringTokenEmbedding deferring: Bool) -> TokenEmbeddingRows? {
        let B = lastB, S = lastS, T = lastT, C = config.dModel, N = B * T
        let p = params.pointer, g = grads.pointer
        var d = acts.pointer(.dResidual), e = acts.pointer(.dNorm)
        // Head: dlogits, then d(headIn) into d and the head weight's gradient.
        headBackward(lossScale: lossScale, logits: logits, into: d, input: acts.pointer(.headIn), weight: layout.headWeight, C: C)
        timed(.other) {
            if config.tieWordEmbeddings { VectorMath.scale(d, count: N * C, by: headScale) }
            finalNormBackward(.decoderOut, into: e, dout: d, inp: decoderInput(config.numDecoderLayers), weight: layout.decoderFinalNorm,
                              rstd: acts.pointer(.decoderRstd), N: N)
        }
        swap(&d, &e)
        onReady?(layout.headRange)
        if deferring { onReady?(layout.sharedRange) }
        // Decoder blocks; cross-attention adds d(encoder output) into dEncoderOut.
        timed(.other) {
            VectorMath.zero(acts.pointer(.dDecoderBias), count: config.numHeads * T * T)
            VectorMath.zero(acts.pointer(.dEncoderOut), count: B * S * C)
        }
        for l in stride(from: config.numDecoderLayers - 1, through: 0, by: -1) {
            let start = layout.decoderBlockStart(l)
            (d, e) = decoder.backward(layer: l, input: decoderInput(l), params: p + start, grads: g + start, d: d, e: e,
                                      step: decoderStep, profile: profile)
            onReady?(layout.decoderBlockRange(l))
        }
        timed(.other) {
            positionBiasBackward(acts.pointer(.dDecoderBias), table: layout.decoderRelativeBias, T: T, bidirectional: false)
            embeddingBackward(.decoderEmbedding, dout: d, tokens: decoderTokens, N: N, keepingRowsAt: deferring ? 0 : nil)
        }
        onReady?(layout.decoderRelativeBiasRange)
        // Encoder: from d(encoder output) through its dropout and final norm.
        let NS = B * S
        timed(.other) {
            finalNormBackward(.encoderOut, into: e, dout: acts.pointer(.dEncoderOut), inp: encoderInput(config.numLayers),
                              weight: layout.encoderFinalNorm, rstd: acts.pointer(.encoderRstd), N: NS)
        }
        swap(&d, &e)
        onReady?(layout.encoderFinalNormRange)
        timed(.other) { VectorMath.zero(acts.pointer(.dEncoderBias), count: config.numHeads * S * S) }
        for l in stride(from: config.numLayers - 1, through: 0, by: -1) {
            let start = layout.encoderBlockStart(l)
            (d, e) = encoder.backward(layer: l, input: encoderInput(l), params: p + start, grads: g + start, d: d, e: e,
                                      step: encoderStep, profile: profile)
            onReady?(layout.encoderBlockRange(l))
        }
        timed(.other) { positionBiasBackward(acts.pointer(.dEncoderBias), table: layout.encoderRelativeBias, T: S, bidirectional: true) }
        onReady?(layout.encoderRelativeBiasRange)
        timed(.other) { embeddingBackward(.encoderEmbedding, dout: d, tokens: sourceTokens, N: NS, keepingRowsAt: deferring ? N : nil) }
        guard deferring else {
            onReady?(layout.sharedRange)
            return nil
        }
        return TokenEmbeddingRows(tokens: lookupRows.tokens, rows: lookupRows.rows, count: N + NS, width: C)
    }

    /// out = dropout(rmsnorm(inp)): writes d(inp) into `into` (zeroed first) from d(out) `dout`.
    private func finalNormBackward(_ site: T5Activations.DropoutSite, into dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                   inp: UnsafePointer<Float>, weight: Int, rstd: UnsafePointer<Float>, N: Int) {
        let C = config.dModel
        let dNorm = undoDropout(site, dout, count: N * C)
        VectorMath.zero(dinp, count: N * C)
        RMSNorm.backward(dinp: dinp, dweight: grads.pointer + weight, dout: dNorm, inp: inp, weight: params.pointer + weight,
                         rstd: rstd, N: N, C: C)
    }

    /// The gradient before a site's dropout: `dout` itself when no dropout applied, else in `dBranch`.
    private func undoDropout(_ site: T5Activations.DropoutSite, _ dout: UnsafePointer<Float>, count: Int) -> UnsafePointer<Float> {
        guard decoderStep.dropping, config.dropoutRate > 0 else { return dout }
        let dBranch = acts.pointer(.dBranch)
        VectorMath.zero(dBranch, count: count)
        Dropout.backward(dinp: dBranch, dout: dout, mask: acts.mask(site), count: count, p: config.dropoutRate)
        return UnsafePointer(dBranch)
    }

    /// The shared embedding's gradient from the rows `tokens` (N) looked up, through the site's dropout;
    /// with `keepingRowsAt` k, copied into `lookupRows` as rows k..<k+N (with their tokens) instead.
    private func embeddingBackward(_ site: T5Activations.DropoutSite, dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, N: Int,
                                   keepingRowsAt first: Int?) {
        let C = config.dModel
        let dEmbedded = undoDropout(site, dout, count: N * C)
        guard let first else {
            Embedding.backward(dwte: grads.pointer + layout.shared, dwpe: nil, dout: dEmbedded, tokens: tokens, B: 1, T: N, C: C)
            return
        }
        lookupRows.keep(rows: dEmbedded, tokens: tokens, count: N, at: first)
    }

    /// Scatters a stack's (NH, T, T) bias gradient into its table.
    private func positionBiasBackward(_ dbias: UnsafePointer<Float>, table: Int, T: Int, bidirectional: Bool) {
        RelativePositionBias.backward(dtable: grads.pointer + table, dbias: dbias, NH: config.numHeads, Tq: T, Tk: T,
                                      bidirectional: bidirectional, numBuckets: config.relativeAttentionNumBuckets,
                                      maxDistance: config.relativeAttentionMaxDistance)
    }
}

extension T5: LanguageModel {}
