/// The shape fields every model family's config shares, and the checks on them.
///
/// `GPTConfig` and `BERTConfig` keep their own stored fields (their YAML keys and defaults differ);
/// this protocol gives both the same head size, the same field checks with the same messages, and the
/// same batch check, so a rule changes in one place. Each family's `validate()` calls the checks in the
/// order it names its fields.
public protocol ModelShape {
    /// V: vocabulary size.
    var vocabSize: Int { get set }
    /// P: the longest sequence the model accepts.
    var maxSeqLen: Int { get set }
    /// L: number of blocks.
    var nLayer: Int { get set }
    /// NH: attention heads per block; must divide `dModel`.
    var nHead: Int { get set }
    /// C: model width.
    var dModel: Int { get set }
    /// LayerNorm epsilon.
    var layerNormEps: Float { get }
}

extension ModelShape {
    /// Head size hs = C / NH.
    public var headSize: Int { dModel / nHead }

    /// Sets the five shape fields at once (what the families' shape initialisers share).
    mutating func setShape(vocabSize: Int, maxSeqLen: Int, nLayer: Int, nHead: Int, dModel: Int) {
        self.vocabSize = vocabSize
        self.maxSeqLen = maxSeqLen
        self.nLayer = nLayer
        self.nHead = nHead
        self.dModel = dModel
    }

    /// Throws a `ModelError` naming the first of `sizes` (`model.` key, value) that is below 1.
    func checkPositive(_ sizes: KeyValuePairs<String, Int>) throws {
        for (name, value) in sizes where value <= 0 {
            throw ModelError("model.\(name) is \(value); it must be at least 1")
        }
    }

    /// Throws unless `nHead` divides `dModel`, suggesting the nearest width that works.
    func checkHeadsDivideWidth() throws {
        guard dModel % nHead == 0 else {
            throw ModelError("model.d_model is \(dModel), not divisible by model.n_head \(nHead); pick d_model a multiple of n_head (e.g. \(nHead * max(1, dModel / nHead)))")
        }
    }

    /// Throws naming the first of `probabilities` (`model.` key, value) outside [0, 1).
    func checkProbabilities(_ probabilities: KeyValuePairs<String, Float>) throws {
        for (name, p) in probabilities {
            guard p >= 0, p < 1 else { throw ModelError("model.\(name) is \(p); it must be in [0, 1)") }
        }
    }

    /// Throws unless the LayerNorm epsilon is positive.
    func checkLayerNormEps() throws {
        guard layerNormEps > 0 else { throw ModelError("model.layer_norm_eps is \(layerNormEps); it must be > 0") }
    }

    /// Checks that a (B, T) batch fits this model; throws naming the value and the limit.
    public func validate(batch: Int, seqLen: Int) throws {
        guard batch > 0 else { throw ModelError("training.micro_batch is \(batch); it must be at least 1") }
        guard seqLen > 0 else { throw ModelError("training.seq_len is \(seqLen); it must be at least 1") }
        guard seqLen <= maxSeqLen else {
            throw ModelError("training.seq_len \(seqLen) is longer than model.max_seq_len \(maxSeqLen) (the position table); lower seq_len or raise max_seq_len")
        }
    }
}
