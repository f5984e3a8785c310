/// Forward activations and backward scratch of `TransformerModel` for batches up to (B, S, T),
/// allocated once.
///
/// Shapes: B batch, S source (encoder) length, T target (decoder) length, C width, V vocabulary,
/// R = max(S, T). The encoder's and the decoder's layers keep their activations in `encoder` and
/// `decoder` (see `BlockActivations`); this class holds the rest: the scaled embeddings plus positions,
/// the sinusoidal table's first R rows, the final LayerNorms, the logits, and the gradient buffers the
/// layer loops pass down. Dropout keep-masks of the two embedding sums sit in one byte buffer.
public final class TransformerActivations {
    /// Regions outside the layers.
    public enum Global: Int, CaseIterable {
        case encoderEmbedded, encoderOut, encoderMean, encoderRstd, dEncoderOut
        case decoderEmbedded, decoderOut, decoderMean, decoderRstd, logits, losses
        case positions, dResidual, dNorm, dBranch

        func count(B: Int, S: Int, T: Int, C: Int, V: Int) -> Int {
            switch self {
            case .encoderEmbedded, .encoderOut, .dEncoderOut: B * S * C
            case .encoderMean, .encoderRstd: B * S
            case .decoderEmbedded, .decoderOut: B * T * C
            case .decoderMean, .decoderRstd, .losses: B * T
            case .logits: B * T * V
            case .positions: max(S, T) * C
            case .dResidual, .dNorm, .dBranch: B * max(S, T) * C
            }
        }
    }

    /// The two places outside the layers where dropout applies: the embedding sums.
    enum DropoutSite: Int, CaseIterable {
        case encoderEmbedding, decoderEmbedding
    }

    /// The largest batch, source and target lengths these buffers hold.
    public let B: Int, S: Int, T: Int
    /// The encoder's and the decoder's layer activations.
    public let encoder: BlockActivations, decoder: BlockActivations
    let globals: RegionBuffer<Global>
    private let masks: UnsafeMutablePointer<UInt8>
    private let maskStride: Int

    /// Allocates everything a (B, S, T) forward and backward of `config` needs.
    public init(config: TransformerConfig, B: Int, S: Int, T: Int) throws {
        self.B = B; self.S = S; self.T = T
        encoder = try BlockActivations(config: config.encoderBlock, layers: config.numEncoderLayers, B: B, T: S)
        decoder = try BlockActivations(config: config.decoderBlock, layers: config.numDecoderLayers, B: B, T: T, Tk: S)
        globals = try RegionBuffer { $0.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize) }
        maskStride = Self.maskStride(config, B: B, S: S, T: T)
        masks = .allocate(filling: 1, count: max(1, maskStride * DropoutSite.allCases.count))
    }

    private static func maskStride(_ config: TransformerConfig, B: Int, S: Int, T: Int) -> Int {
        config.dropout > 0 ? B * max(S, T) * config.dModel : 0
    }

    /// Bytes `TransformerModel(config:maxBatch: B, maxSource: S, maxTarget: T)` allocates besides its
    /// parameters and gradients (activations, masks, token buffers), computed without allocating.
    public static func bytes(config: TransformerConfig, B: Int, S: Int, T: Int) -> Int {
        let globals = Global.allCases.reduce(0) {
            $0 + BlockActivations.align($1.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize))
        }
        let stacks = [BlockActivations.size(config: config.encoderBlock, layers: config.numEncoderLayers, B: B, T: S),
                      BlockActivations.size(config: config.decoderBlock, layers: config.numDecoderLayers, B: B, T: T, Tk: S)]
        let tokens = 5 * B * S + 8 * B * T, masks = max(1, maskStride(config, B: B, S: S, T: T) * DropoutSite.allCases.count)
        return stacks.reduce(4 * globals + masks + tokens) { $0 + 4 * $1.floats + $1.maskBytes }
    }

    deinit { masks.deallocate() }

    /// Floats allocated for activations and scratch, layers included.
    public var floatCount: Int { globals.storage.count + encoder.floatCount + decoder.floatCount }

    /// Start of a region outside the layers.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> { globals.pointer(region) }

    /// The dropout keep-mask of a site.
    func mask(_ site: DropoutSite) -> UnsafeMutablePointer<UInt8> { masks + site.rawValue * maskStride }
}
