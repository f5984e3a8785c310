/// What the activations of every encoder-decoder (`T5Activations`, `TransformerActivations`) hold
/// alike, allocated once: the largest batch shape, both stacks' block activations and the dropout
/// keep-masks of the places outside the blocks.
///
/// Shapes: B batch, S source (encoder) length, T target (decoder) length, C width. Each family's
/// subclass adds its own regions outside the blocks (embeddings, final norms, head) and names its
/// dropout sites; site k's mask holds `maskStride` bytes, (B, max(S, T), C) when dropout is on.
public class EncoderDecoderActivations {
    /// The largest batch, source and target lengths these buffers hold.
    public let B: Int, S: Int, T: Int
    /// The encoder's and the decoder's block activations.
    public let encoder: BlockActivations, decoder: BlockActivations
    private let masks: UnsafeMutablePointer<UInt8>
    private let maskStride: Int

    /// Allocates both stacks' blocks (`encoderLayers` of `encoderBlock`, `decoderLayers` of
    /// `decoderBlock` with cross-attention over S) and the keep-masks of `sites` dropout sites.
    init(encoderBlock: BlockConfig, encoderLayers: Int, decoderBlock: BlockConfig, decoderLayers: Int,
         B: Int, S: Int, T: Int, maskStride: Int, sites: Int) throws {
        self.B = B; self.S = S; self.T = T
        encoder = try BlockActivations(config: encoderBlock, layers: encoderLayers, B: B, T: S)
        decoder = try BlockActivations(config: decoderBlock, layers: decoderLayers, B: B, T: T, Tk: S)
        self.maskStride = maskStride
        masks = .allocate(filling: 1, count: max(1, maskStride * sites))
    }

    deinit { masks.deallocate() }

    /// Bytes of one dropout site's keep-mask: (B, max(S, T), C) when `dropout` > 0, else none.
    static func maskStride(dropout: Float, B: Int, S: Int, T: Int, C: Int) -> Int {
        dropout > 0 ? B * max(S, T) * C : 0
    }

    /// Bytes a model with these activations allocates besides its parameters and gradients: `globals`
    /// floats outside the blocks (aligned), both stacks, the masks of `sites` sites and the token
    /// buffers (source ids and padding, decoder inputs and targets), computed without allocating.
    static func bytes(globals: Int, encoderBlock: BlockConfig, encoderLayers: Int, decoderBlock: BlockConfig, decoderLayers: Int,
                      B: Int, S: Int, T: Int, maskStride: Int, sites: Int) -> Int {
        let encoder = BlockActivations.size(config: encoderBlock, layers: encoderLayers, B: B, T: S)
        let decoder = BlockActivations.size(config: decoderBlock, layers: decoderLayers, B: B, T: T, Tk: S)
        let masks = max(1, maskStride * sites), tokens = 5 * B * S + 8 * B * T
        return 4 * (globals + encoder.floats + decoder.floats) + encoder.maskBytes + decoder.maskBytes + masks + tokens
    }

    /// The dropout keep-mask of a site.
    func mask<Site: RawRepresentable>(_ site: Site) -> UnsafeMutablePointer<UInt8> where Site.RawValue == Int {
        masks + site.rawValue * maskStride
    }
}
