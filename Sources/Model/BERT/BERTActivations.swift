/// Forward activations and backward scratch of `BERT` for batches up to (B, T), allocated once.
///
/// Shapes: B batch, T time, C channels, V vocab, K sequence labels, N = B·T. The blocks' activations
/// and shared backward scratch are `blocks` (see `BlockActivations`); this class holds the rest:
/// embeddings, the final LayerNorm (pre-LN), the heads and the two (B, T, C) gradient buffers the
/// block loop passes down. Head regions hold up to N rows: the MLM head runs only on the rows that
/// carry a target (the gathered masked positions) when there are targets, on all N rows otherwise.
public final class BERTActivations {
    /// Regions outside the blocks: embeddings, heads and backward scratch.
    public enum Global: Int, CaseIterable {
        case embedded, encoded, embMean, embRstd, lnf, lnfMean, lnfRstd
        case headIn, transform, transformGelu, headLN, headMean, headRstd, logits, losses
        case cls, pooledPre, pooled, sequenceLogits, sequenceLosses
        case dResidual, dLN, dHeadA, dHeadB, dCls, dBranch

        func count(B: Int, T: Int, C: Int, V: Int, K: Int) -> Int {
            switch self {
            case .embMean, .embRstd, .lnfMean, .lnfRstd, .headMean, .headRstd, .losses: B * T
            case .logits: B * T * V
            case .cls, .pooledPre, .pooled, .dCls: B * C
            case .sequenceLogits: B * max(2, K)
            case .sequenceLosses: B
            default: B * T * C
            }
        }
    }

    /// The largest batch and sequence length these buffers hold.
    public let B: Int, T: Int
    /// Every block's saved activations and the backward scratch they share.
    public let blocks: BlockActivations
    /// The regions outside the blocks.
    let globals: RegionBuffer<Global>
    /// Hidden-dropout keep-masks of the embeddings (B, T, C) and of the pooled [CLS] (B, C) after them;
    /// one byte when dropout is off.
    private let masks: UnsafeMutablePointer<UInt8>
    private let maskStride: Int

    /// Allocates everything a (B, T) forward and backward of `config` needs.
    public init(config: BERTConfig, B: Int, T: Int) throws {
        self.B = B; self.T = T
        let C = config.dModel
        blocks = try BlockActivations(config: config.blockConfig, layers: config.nLayer, B: B, T: T)
        globals = try RegionBuffer { $0.count(B: B, T: T, C: C, V: config.vocabSize, K: config.sequenceLabels) }
        maskStride = config.hiddenDropout > 0 ? B * T * C : 0
        masks = .allocate(filling: 1, count: maskStride + (config.hiddenDropout > 0 ? B * C : 0))
    }

    deinit { masks.deallocate() }

    /// The keep-mask of the embeddings' hidden dropout.
    var embeddingMask: UnsafeMutablePointer<UInt8> { masks }

    /// The keep-mask of the pooled [CLS] dropout.
    var pooledMask: UnsafeMutablePointer<UInt8> { masks + maskStride }

    /// Floats allocated for activations and scratch, blocks included.
    public var floatCount: Int { globals.storage.count + blocks.floatCount }

    /// Start of a region outside the blocks.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> { globals.pointer(region) }
}

extension BERTConfig {
    /// BERT's block: post-LN (or pre-LN), bidirectional self-attention with key padding, GELU-erf
    /// feed-forward of width I, `nn.Linear` (out, in) weights with biases, hidden and attention dropout.
    public var blockConfig: BlockConfig {
        BlockConfig(C: dModel, NH: nHead, I: intermediateSize, placement: norm == .post ? .post : .pre, norm: .layerNorm,
                    eps: layerNormEps, selfAttention: .padding, feedForward: .gelu(.erf), orientation: .outIn,
                    residualDropout: hiddenDropout, attentionDropout: attentionDropout)
    }
}
