import Kernels

/// What the training loop needs from a model whatever its family: the flat parameter and gradient
/// buffers with their table, backward with ready-range callbacks, and initialisation.
///
/// Forward differs per family (GPT takes tokens and next-token targets; BERT adds segments, a padding
/// mask and masked-LM targets), so it stays on the concrete types. `GPT`, `BERT` and `T5` conform.
public protocol LanguageModel: AnyObject {
    /// The parameter table type.
    associatedtype Layout: ParameterTable
    /// Where each parameter lives in `params` and `grads`.
    var layout: Layout { get }
    /// All parameters, one contiguous buffer.
    var params: FlatBuffer { get }
    /// Gradients, same layout as `params`.
    var grads: FlatBuffer { get }
    /// When set, forward and backward add their per-kernel times to it.
    var profile: StepProfile? { get set }
    /// When set, linear layers take bf16 operands (mixed precision; see `BF16Matmul`).
    var bf16: BF16Matmul? { get set }
    /// When set, the timeline recorder forward and backward write their spans to.
    var timeline: Timeline? { get set }
    /// Dropout applies only while this is set (and only where configured).
    var training: Bool { get set }
    /// Sets every gradient to zero.
    func zeroGrad()
    /// Adds the gradient of `lossScale` × (the last forward's loss) to `grads`, reporting each range as
    /// soon as it is final.
    func backward(lossScale: Float, onReady: ((Range<Int>) -> Void)?)
    /// The flat range of the token-embedding table whose own rows `backward(…, deferringTokenEmbedding:
    /// true)` can hand back instead of adding (see `TokenEmbeddingRows`); nil when the model cannot.
    var deferrableEmbeddingRange: Range<Int>? { get }
    /// The most rows one deferring backward hands back (every token lookup of the largest batch).
    var deferrableEmbeddingRows: Int { get }
    /// `backward(lossScale:onReady:)`, optionally returning the token-embedding rows instead of adding
    /// them to `grads` (only where `deferrableEmbeddingRange` is not nil); nil when not deferring.
    func backward(lossScale: Float, onReady: ((Range<Int>) -> Void)?, deferringTokenEmbedding: Bool) -> TokenEmbeddingRows?
    /// Deterministic initialisation from a seed (the same on every rank).
    func initializeWeights(seed: UInt64)
    /// Reallocates activations for `bf16` (nil: fp32) where the model keeps bf16 operands; before any step.
    func prepareActivations(for bf16: BF16Matmul?) throws
}

extension LanguageModel {
    /// nil: by default a model adds its token-embedding gradient in place (GPT and T5 override it).
    public var deferrableEmbeddingRange: Range<Int>? { nil }

    /// 0: a model that cannot defer hands back no rows.
    public var deferrableEmbeddingRows: Int { 0 }

    /// By default, plain backward: a model that cannot defer its token-embedding rows is never asked to.
    public func backward(lossScale: Float, onReady: ((Range<Int>) -> Void)?, deferringTokenEmbedding: Bool) -> TokenEmbeddingRows? {
        precondition(!deferringTokenEmbedding, "\(Self.self) does not defer its token embedding")
        backward(lossScale: lossScale, onReady: onReady)
        return nil
    }

    /// Runs the linear layers with `bf16` attached to this model's weights (mixed precision), or in
    /// fp32 when nil.
    public func useBF16(_ bf16: BF16Matmul?) throws {
        try prepareActivations(for: bf16)
        // The token-embedding table (where a family names one) is rounded per use, in slices: no copy.
        bf16?.attach(weights: params.pointer, count: layout.count, skipping: deferrableEmbeddingRange)
        self.bf16 = bf16
    }
}

extension LanguageModel {
    /// Activations stay fp32 (families that keep bf16 operands implement this).
    public func prepareActivations(for bf16: BF16Matmul?) throws {}
}

extension GPT: LanguageModel {}
extension BERT: LanguageModel {}
