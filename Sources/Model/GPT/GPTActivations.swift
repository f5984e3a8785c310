/// Forward activations and backward scratch of `GPT` for batches up to (B, T), allocated once.
///
/// Shapes: B batch, T time, C channels, V vocab, K labels. The blocks' activations and their shared
/// backward scratch are `blocks` (see `BlockActivations`); this class holds the regions outside the
/// blocks: embeddings, the final LayerNorm, the heads, and the two (B, T, C) gradient buffers the
/// block loop passes down. A smaller batch uses the front of each region.
public final class GPTActivations {
    /// Regions outside the blocks. A language model has `logits` (B, T, V) and no classifier regions;
    /// a K-way classifier (K > 0) the reverse: `pooled` (B, C) rows of ln_f gathered at the classified
    /// positions, their gradient `dPooled`, and the (B, K) `sequenceLogits` and `sequenceProbs` (which
    /// backward turns into logit gradients).
    public enum Global: Int, CaseIterable {
        case encoded, lnf, lnfMean, lnfRstd, logits, losses
        case dResidual, dLN, dBranch
        case pooled, dPooled, sequenceLogits, sequenceProbs, sequenceLosses

        func count(B: Int, T: Int, C: Int, V: Int, K: Int) -> Int {
            switch self {
            case .lnfMean, .lnfRstd: B * T
            case .losses: K > 0 ? 0 : B * T
            case .logits: K > 0 ? 0 : B * T * V
            case .pooled, .dPooled: K > 0 ? B * C : 0
            case .sequenceLogits, .sequenceProbs: B * K
            case .sequenceLosses: K > 0 ? B : 0
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
    /// The embedding-dropout keep-mask (B, T, C); one byte when dropout is off.
    let embeddingMask: UnsafeMutablePointer<UInt8>

    /// Allocates everything a (B, T) forward and backward of `config` needs; with `operandBytes` the
    /// blocks keep their linear layers' inputs as rounded bf16 operands (see `BlockActivations`).
    public init(config: GPTConfig, B: Int, T: Int, operandBytes: Int? = nil) throws {
        self.B = B; self.T = T
        let C = config.dModel
        blocks = try BlockActivations(config: config.blockConfig, layers: config.nLayer, B: B, T: T, operandBytes: operandBytes)
        globals = try RegionBuffer { $0.count(B: B, T: T, C: C, V: config.vocabSize, K: config.numLabels) }
        embeddingMask = .allocate(filling: 1, count: config.embeddingDropout > 0 ? B * T * C : 1)
    }

    deinit { embeddingMask.deallocate() }

    /// Floats allocated for activations and scratch, blocks included.
    public var floatCount: Int { globals.storage.count + blocks.floatCount }

    /// Start of a region outside the blocks.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> { globals.pointer(region) }
}

extension GPTConfig {
    /// GPT-2's block: pre-LN, causal (or bidirectional) self-attention, 4C GELU-tanh MLP, Conv1D
    /// (in, out) weights with biases, dropout on each branch and on the attention probabilities.
    public var blockConfig: BlockConfig {
        BlockConfig(C: dModel, NH: nHead, I: 4 * dModel, placement: .pre, norm: .layerNorm, eps: layerNormEps,
                    selfAttention: causal ? .causal : .none, feedForward: .gelu(.tanh), orientation: .inOut,
                    residualDropout: residualDropout, attentionDropout: attentionDropout)
    }
}
