/// Forward activations and backward scratch for batches up to (B, T), allocated once.
///
/// Shapes: B batch, T time, C channels, V vocab, NH heads, L layers. Every region is sized for the
/// largest batch the model was built for; a smaller batch uses the front of each region. Backward
/// scratch is shared by all layers (only one layer's backward is live at a time), so activation
/// gradients cost a few (B, T, C) buffers, not a second copy of the activations.
public final class GPTActivations {
    /// Per-layer saved activations, in storage order.
    public enum Layer: Int, CaseIterable {
        case ln1, ln1Mean, ln1Rstd, qkv, atty, att, attProj, residual2
        case ln2, ln2Mean, ln2Rstd, fch, fchGelu, fcProj, residual3
        /// The attention weights after dropout; allocated only when attention dropout is on.
        case attDropped

        func count(B: Int, T: Int, C: Int, NH: Int, attentionDropout: Bool) -> Int {
            switch self {
            case .ln1Mean, .ln1Rstd, .ln2Mean, .ln2Rstd: B * T
            case .qkv: B * T * 3 * C
            case .att: B * NH * T * T
            case .attDropped: attentionDropout ? B * NH * T * T : 0
            case .fch, .fchGelu: B * T * 4 * C
            default: B * T * C
            }
        }
    }

    /// Regions outside the blocks: model input/output and backward scratch. A language model has
    /// `logits` (B, T, V) and no classifier regions; a K-way classifier (K > 0) the reverse: `pooled`
    /// (B, C) rows of ln_f gathered at the classified positions, their gradient `dPooled`, and the
    /// (B, K) `sequenceLogits` and `sequenceProbs` (which backward turns into logit gradients).
    public enum Global: Int, CaseIterable {
        case encoded, lnf, lnfMean, lnfRstd, logits, losses
        case dResidual, dLN, dQKV, dAttY, dAttScratch, dFch, dFchGelu, dBranch
        case pooled, dPooled, sequenceLogits, sequenceProbs, sequenceLosses

        func count(B: Int, T: Int, C: Int, NH: Int, V: Int, K: Int) -> Int {
            switch self {
            case .lnfMean, .lnfRstd: B * T
            case .losses: K > 0 ? 0 : B * T
            case .logits: K > 0 ? 0 : B * T * V
            case .pooled, .dPooled: K > 0 ? B * C : 0
            case .sequenceLogits, .sequenceProbs: B * K
            case .sequenceLosses: K > 0 ? B : 0
            case .dQKV: B * T * 3 * C
            case .dAttScratch: B * NH * T * T
            case .dFch, .dFchGelu: B * T * 4 * C
            default: B * T * C
            }
        }
    }

    /// The largest batch and sequence length these buffers hold.
    public let B: Int, T: Int
    let C: Int, NH: Int, V: Int, L: Int
    let storage: FlatBuffer
    private let layerOffsets: [Int]
    private let layerStride: Int
    private let globalOffsets: [Int]
    /// Dropout keep-masks, one (B, T, C) byte block per use (embedding, then 2 per layer); empty when off.
    let masks: UnsafeMutablePointer<UInt8>
    let maskStride: Int

    /// Allocates everything a (B, T) forward and backward of `config` needs.
    public init(config: GPTConfig, B: Int, T: Int) {
        self.B = B; self.T = T
        C = config.dModel; NH = config.nHead; V = config.vocabSize; L = config.nLayer
        var offsets: [Int] = []
        var running = 0
        for region in Layer.allCases {
            offsets.append(running)
            running += Self.align(region.count(B: B, T: T, C: C, NH: NH, attentionDropout: config.attentionDropout > 0))
        }
        layerOffsets = offsets
        layerStride = running
        var globals: [Int] = []
        running *= L
        for region in Global.allCases {
            globals.append(running)
            running += Self.align(region.count(B: B, T: T, C: C, NH: NH, V: V, K: config.numLabels))
        }
        globalOffsets = globals
        storage = FlatBuffer(count: running)
        let dropout = config.embeddingDropout > 0 || config.residualDropout > 0
        maskStride = dropout ? B * T * C : 0
        let maskCount = max(1, maskStride * (1 + 2 * L))
        masks = .allocate(capacity: maskCount)
        masks.initialize(repeating: 1, count: maskCount)
    }

    deinit { masks.deallocate() }

    /// Rounds a count up to 16 Floats so every region starts 64-byte aligned.
    static func align(_ n: Int) -> Int { (n + 15) & ~15 }

    /// Floats allocated for activations and scratch.
    public var floatCount: Int { storage.count }

    /// Start of a per-layer region.
    @inline(__always)
    public func pointer(_ region: Layer, layer: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + layer * layerStride + layerOffsets[region.rawValue]
    }

    /// Start of a global region.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> {
        storage.pointer + globalOffsets[region.rawValue]
    }

    /// The dropout keep-mask for a use: 0 = embedding, 1 + 2l = attention branch, 2 + 2l = MLP branch.
    @inline(__always)
    func mask(_ use: Int) -> UnsafeMutablePointer<UInt8> { masks + use * maskStride }
}
