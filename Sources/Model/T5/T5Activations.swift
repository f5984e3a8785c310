/// Forward activations and backward scratch of `T5` for batches up to (B, S, T), allocated once.
///
/// Shapes: B batch, S source (encoder) length, T target (decoder) length, C width, V vocabulary,
/// NH heads, R = max(S, T). The encoder's and the decoder's blocks keep their activations in
/// `encoder` and `decoder` (see `BlockActivations`); this class holds the rest: embeddings, the position
/// biases and their gradients, the final norms, the head, and the gradient buffers the block loops
/// pass down. Dropout keep-masks for the four places outside the blocks (both embeddings, both final
/// norms) sit in one byte buffer.
public final class T5Activations {
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

    /// The largest batch, source and target lengths these buffers hold.
    public let B: Int, S: Int, T: Int
    /// The encoder's and the decoder's block activations.
    public let encoder: BlockActivations, decoder: BlockActivations
    let globals: RegionBuffer<Global>
    private let masks: UnsafeMutablePointer<UInt8>
    private let maskStride: Int

    /// Allocates everything a (B, S, T) forward and backward of `config` needs.
    public init(config: T5Config, B: Int, S: Int, T: Int) throws {
        self.B = B; self.S = S; self.T = T
        encoder = try BlockActivations(config: config.encoderBlock, layers: config.numLayers, B: B, T: S)
        decoder = try BlockActivations(config: config.decoderBlock, layers: config.numDecoderLayers, B: B, T: T, Tk: S)
        globals = try RegionBuffer { $0.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize, NH: config.numHeads) }
        maskStride = config.dropoutRate > 0 ? B * max(S, T) * config.dModel : 0
        masks = .allocate(filling: 1, count: max(1, maskStride * DropoutSite.allCases.count))
    }

    /// Bytes `T5(config:maxBatch: B, maxSource: S, maxTarget: T)` allocates besides its parameters and
    /// gradients (activations, masks, token buffers), computed without allocating (memory plans).
    public static func bytes(config: T5Config, B: Int, S: Int, T: Int) -> Int {
        let globals = Global.allCases.reduce(0) {
            $0 + BlockActivations.align($1.count(B: B, S: S, T: T, C: config.dModel, V: config.vocabSize, NH: config.numHeads))
        }
        let encoder = BlockActivations.size(config: config.encoderBlock, layers: config.numLayers, B: B, T: S)
        let decoder = BlockActivations.size(config: config.decoderBlock, layers: config.numDecoderLayers, B: B, T: T, Tk: S)
        let masks = max(1, (config.dropoutRate > 0 ? B * max(S, T) * config.dModel : 0) * DropoutSite.allCases.count)
        return 4 * (globals + encoder.floats + decoder.floats) + encoder.maskBytes + decoder.maskBytes + masks + 5 * B * S + 8 * B * T
    }

    deinit { masks.deallocate() }

    /// Floats allocated for activations and scratch, blocks included.
    public var floatCount: Int { globals.storage.count + encoder.floatCount + decoder.floatCount }

    /// Start of a region outside the blocks.
    @inline(__always)
    public func pointer(_ region: Global) -> UnsafeMutablePointer<Float> { globals.pointer(region) }

    /// The dropout keep-mask of a site.
    func mask(_ site: DropoutSite) -> UnsafeMutablePointer<UInt8> { masks + site.rawValue * maskStride }
}
