/// Forward activations and backward scratch of `T5` for batches up to (B, S, T), allocated once.
///
/// Shapes: B batch, S source (encoder) length, T target (decoder) length, C width, V vocabulary,
/// NH heads, R = max(S, T). The encoder's and the decoder's blocks keep their activations in
/// `encoder` and `decoder` (see `BlockActivations`); this class holds the rest: embeddings, the position
/// biases and their gradients, the final norms, the head, and the gradient buffers the block loops
/// pass down. The blocks and the dropout keep-masks of the four places outside them (both embeddings,
/// both final norms) are `EncoderDecoderActivations`'.
public final class T5Activations: EncoderDecoderActivations {
    /// Regions outside the blocks.
    public enum Global: Int, CaseIterable {
        case encoderEmbedded, encoderBias, dEncoderBias, encoderOut, encoderRstd, dEncoderOut
        case decoderEmbedded, decoderBias, dDecoderBias, decoderOut, decoderRstd, headIn, logits, losses
        case dResidual, dNorm, dBranch

        func count(B: Int, S: Int, T: Int, C: Int, V: Int, NH: Int) -> Int {
            switch self {
            case .encoderEmbedded, .encoderOut, .dEncoderOut: B * S * C
            case .encoderBias, .dEncoderBias: NH * S * S
            case .encoderRstd: B * S
            case .decoderEmbedded, .decoderOut, .headIn: B * T * C
            case .decoderBias, .dDecoderBias: NH * T * T
            case .decoderRstd, .losses: B * T
            case .logits: B * T * V
            case .dResidual, .dNorm, .dBranch: B * max(S, T) * C
            }
        }
    }

    /// Places outside the blocks where dropout applies.
    enum DropoutSite: Int, CaseIterable {
        case encoderEmbedding, encoderOut, decoderEmbedding, decoderOut
    }

    let globals: RegionBuffer<Global>

    /// Allocates everything a (B, S, T) forward and backward of `config` needs.
    public init(config: T5Config, B: Int, S: Int, T: Int) throws {
        globals = try RegionBuffer { $0.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize, NH: config.numHeads) }
        try super.init(encoderBlock: config.encoderBlock, encoderLayers: config.numLayers, decoderBlock: config.decoderBlock,
                   decoderLayers: config.numDecoderLayers, B: B, S: S, T: T, maskStride: T5Activations.maskStride(config, B: B, S: S, T: T),
                   sites: DropoutSite.allCases.count)
    }

    private static func maskStride(_ config: T5Config, B: Int, S: Int, T: Int) -> Int {
        maskStride(dropout: config.dropoutRate, B: B, S: S, T: T, C: config.dModel)
    }

    /// Bytes `T5(config:maxBatch: B, maxSource: S, maxTarget: T)` allocates besides its parameters and
    /// gradients (activations, masks, token buffers), computed without allocating (memory plans).
    public static func bytes(config: T5Config, B: Int, S: Int, T: Int) -> Int {
        let globals = Global.allCases.reduce(0) {
            $0 + BlockActivations.align($1.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize, NH: config.numHeads))
        }
        return bytes(globals: globals, encoderBlock: config.encoderBlock, encoderLayers: config.numLayers, decoderBlock: config.decoderBlock,
                     decoderLayers: config.numDecoderLayers, B: B, S: S, T: T, maskStride: maskStride(config, B: B, S: S, T: T),
                     sites: DropoutSite.allCases.count)
    }

    /// Floats allocated for activations and scratch, blocks included.
    public var floatCount: Int { globals.storage.count + encoder.floatCount + decoder.floatCount }

    /// Start of a region outside the blocks.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> { globals.pointer(region) }
}
