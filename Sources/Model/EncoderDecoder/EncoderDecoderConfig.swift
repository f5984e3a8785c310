/// What `EncoderDecoderModel` reads from an encoder-decoder family's config (`T5Config`,
/// `TransformerConfig`): its name in messages, its validation, both stacks' block options and the loss.
protocol EncoderDecoderConfig {
    /// Throws one line naming the first bad value.
    func validate() throws
    /// The family's name in error messages ("T5", "Transformer").
    static var family: String { get }
    /// Token ids are in 0..<vocabSize.
    var vocabSize: Int { get }
    /// C, the width of the token embedding and the stacks.
    var dModel: Int { get }
    /// The target id left out of the loss.
    var ignoreIndex: Int32 { get }
    /// The loss's label smoothing (0: plain cross-entropy).
    var labelSmoothing: Float { get }
    /// The encoder's block options.
    var encoderBlock: BlockConfig { get }
    /// The decoder's block options (with cross-attention).
    var decoderBlock: BlockConfig { get }
}

extension T5Config: EncoderDecoderConfig {
    static var family: String { "T5" }
    /// T5 trains with plain cross-entropy.
    var labelSmoothing: Float { 0 }
}

extension TransformerConfig: EncoderDecoderConfig {
    static var family: String { "Transformer" }
}
