/// Forward activations and backward scratch of `BERT` for batches up to (B, T), allocated once.
///
/// Shapes: B batch, T time, C channels, I feed-forward width, V vocab, NH heads, L layers, N = B·T.
/// Head regions hold up to N rows: the MLM head runs only on the rows that carry a target (the gathered
/// masked positions) when there are targets, on all N rows otherwise. Backward scratch is shared by all
/// layers, as in `GPTActivations`.
public final class BERTActivations {
    /// Per-layer saved activations, in storage order.
    ///
    /// Post-LN: res2 = x + attn(x), ln1 = LN(res2), res3 = ln1 + ffn(ln1), ln2 = LN(res3) (the output).
    /// Pre-LN: ln1 = LN(x), res2 = x + attn(ln1), ln2 = LN(res2), res3 = res2 + ffn(ln2) (the output).
    public enum Layer: Int, CaseIterable {
        case ln1, ln1Mean, ln1Rstd, qkv, atty, att, residual2
        case ln2, ln2Mean, ln2Rstd, fch, fchGelu, residual3
        /// The attention weights after dropout; allocated only when attention dropout is on.
        case attDropped

        func count(B: Int, T: Int, C: Int, I: Int, NH: Int, attentionDropout: Bool) -> Int {
            switch self {
            case .attDropped: attentionDropout ? B * NH * T * T : 0
            case .ln1Mean, .ln1Rstd, .ln2Mean, .ln2Rstd: B * T
            case .qkv: B * T * 3 * C
            case .att: B * NH * T * T
            case .fch, .fchGelu: B * T * I
            default: B * T * C
            }
        }
    }

    /// Regions outside the blocks: embeddings, heads and backward scratch.
    public enum Global: Int, CaseIterable {
        case embedded, encoded, embMean, embRstd, lnf, lnfMean, lnfRstd
        case headIn, transform, transformGelu, headLN, headMean, headRstd, logits, losses
        case cls, pooledPre, pooled, sequenceLogits, sequenceLosses
        case dResidual, dLN, dQKV, dAttY, dAttScratch, dFch, dFchGelu, dHeadA, dHeadB, dCls, dBranch

        func count(B: Int, T: Int, C: Int, I: Int, NH: Int, V: Int, K: Int) -> Int {
            switch self {
            case .embMean, .embRstd, .lnfMean, .lnfRstd, .headMean, .headRstd, .losses: B * T
            case .logits: B * T * V
            case .cls, .pooledPre, .pooled, .dCls: B * C
            case .sequenceLogits: B * max(2, K)
            case .sequenceLosses: B
            case .dQKV: B * T * 3 * C
            case .dAttScratch: B * NH * T * T
            case .dFch, .dFchGelu: B * T * I
            default: B * T * C
            }
        }
    }

    /// The largest batch and sequence length these buffers hold.
    public let B: Int, T: Int
    let storage: FlatBuffer
    private let layerOffsets: [Int]
    private let layerStride: Int
    private let globalOffsets: [Int]

    /// Allocates everything a (B, T) forward and backward of `config` needs.
    public init(config: BERTConfig, B: Int, T: Int) {
        self.B = B; self.T = T
        let C = config.dModel, I = config.intermediateSize, NH = config.nHead, V = config.vocabSize
        var offsets: [Int] = []
        var running = 0
        for region in Layer.allCases {
            offsets.append(running)
            running += GPTActivations.align(region.count(B: B, T: T, C: C, I: I, NH: NH, attentionDropout: config.attentionDropout > 0))
        }
        layerOffsets = offsets
        layerStride = running
        var globals: [Int] = []
        running *= config.nLayer
        for region in Global.allCases {
            globals.append(running)
            running += GPTActivations.align(region.count(B: B, T: T, C: C, I: I, NH: NH, V: V, K: config.sequenceLabels))
        }
        globalOffsets = globals
        storage = FlatBuffer(count: running)
        maskStride = config.hiddenDropout > 0 ? B * T * C : 0
        let maskCount = max(1, maskStride * (1 + 2 * config.nLayer) + (config.hiddenDropout > 0 ? B * C : 0))
        masks = .allocate(capacity: maskCount)
        masks.initialize(repeating: 1, count: maskCount)
        uses = 1 + 2 * config.nLayer
    }

    deinit { masks.deallocate() }

    /// Hidden-dropout keep-masks: one (B, T, C) byte block per use (0 = embeddings, 1 + 2l = attention
    /// output of block l, 2 + 2l = feed-forward output), then (B, C) for the pooled [CLS].
    let masks: UnsafeMutablePointer<UInt8>
    let maskStride: Int
    private let uses: Int

    /// The keep-mask of a hidden-dropout use (see `masks`).
    @inline(__always)
    func mask(_ use: Int) -> UnsafeMutablePointer<UInt8> { masks + use * maskStride }

    /// The keep-mask of the pooled [CLS] dropout.
    var pooledMask: UnsafeMutablePointer<UInt8> { masks + uses * maskStride }

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
}
