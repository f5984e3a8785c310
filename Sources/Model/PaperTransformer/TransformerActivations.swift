/// Forward activations and backward scratch of `TransformerModel` for batches up to (B, S, T),
/// allocated once.
///
/// Shapes: B batch, S source (encoder) length, T target (decoder) length, C width, V vocabulary,
/// R = max(S, T). The encoder's and the decoder's layers keep their activations in `encoder` and
/// `decoder` (see `BlockActivations`); this class holds the rest: the scaled embeddings plus positions,
/// the sinusoidal table's first R rows, the final LayerNorms, the logits, and the gradient buffers the
/// layer loops pass down. The layers and the dropout keep-masks of the two embedding sums are
/// `EncoderDecoderActivations`'.
public final class TransformerActivations: EncoderDecoderActivations {
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

    let globals: RegionBuffer<Global>

    /// Allocates everything a (B, S, T) forward and backward of `config` needs.
    public init(config: TransformerConfig, B: Int, S: Int, T: Int) throws {
        globals = try RegionBuffer { $0.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize) }
        try super.init(encoderBlock: config.encoderBlock, encoderLayers: config.numEncoderLayers, decoderBlock: config.decoderBlock,
                   decoderLayers: config.numDecoderLayers, B: B, S: S, T: T,
                   maskStride: TransformerActivations.maskStride(dropout: config.dropout, B: B, S: S, T: T, C: config.dModel), sites: DropoutSite.allCases.count)
    }

    /// Bytes `TransformerModel(config:maxBatch: B, maxSource: S, maxTarget: T)` allocates besides its
    /// parameters and gradients (activations, masks, token buffers), computed without allocating.
    public static func bytes(config: TransformerConfig, B: Int, S: Int, T: Int) -> Int {
        let globals = Global.allCases.reduce(0) { $0 + BlockActivations.align($1.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize)) }
        return bytes(globals: globals, encoderBlock: config.encoderBlock, encoderLayers: config.numEncoderLayers,
                     decoderBlock: config.decoderBlock, decoderLayers: config.numDecoderLayers, B: B, S: S, T: T,
                     maskStride: maskStride(dropout: config.dropout, B: B, S: S, T: T, C: config.dModel), sites: DropoutSite.allCases.count)
    }

    /// Floats allocated for activations and scratch, layers included.
    public var floatCount: Int { globals.storage.count + encoder.floatCount + decoder.floatCount }

    /// Start of a region outside the layers.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> { globals.pointer(region) }
}
