import Kernels
import Support

/// What every encoder-decoder (`T5`, `TransformerModel`) holds and does alike: the flat parameter and
/// gradient buffers, both stacks' blocks, the training switches, and one batch's token buffers (allocated
/// once, freed in deinit) with the forward's checks and copies, the loss and the start of backward.
///
/// Shapes: B batch, S source length, T target length, C width, V vocabulary. The family's subclass adds
/// its config, layout and activations, overrides `encode` and `decode` (embeddings, the stacks, its
/// head), and walks its backward after `headBackward`.
public class EncoderDecoderModel {
    /// All parameters, one contiguous buffer.
    public let params: FlatBuffer
    /// Gradients, same layout as `params`.
    public let grads: FlatBuffer
    /// The encoder's and the decoder's blocks.
    let encoder: TransformerBlock, decoder: TransformerBlock
    /// When set, forward and backward add their per-kernel times to it.
    public var profile: StepProfile?
    /// When set, the Chrome-trace recorder; encoder-decoders record whole steps only.
    public var timeline: Timeline?
    /// When set, every linear layer (both stacks and the head) multiplies bf16 operands with fp32
    /// accumulation (mixed precision); nil: fp32.
    public var bf16: BF16Matmul?
    /// Dropout is applied only while training (and only when configured).
    public var training = true
    /// Seed of the dropout masks; the training loop sets it per step and rank.
    public var dropoutSeed: UInt64 = 0

    /// The (B, T, V) logits of the last forward; after a forward with targets they hold probabilities,
    /// and after backward the logit gradients.
    public let logits: UnsafeMutablePointer<Float>
    /// The (B, T) per-position losses of the last forward with targets.
    let losses: UnsafeMutablePointer<Float>
    /// The largest batch, source and target lengths the buffers hold.
    public let maxBatch: Int, maxSource: Int, maxTarget: Int
    /// The vocabulary size, the target id left out of the loss, and the loss's label smoothing.
    public let vocabularySize: Int, ignoreIndex: Int32, labelSmoothing: Float
    let sourceTokens: UnsafeMutablePointer<Int32>   // (B,S)
    let keep: UnsafeMutablePointer<UInt8>           // (B,S) 1 = token, 0 = padding
    let decoderTokens: UnsafeMutablePointer<Int32>  // (B,T)
    let targets: UnsafeMutablePointer<Int32>        // (B,T)
    var lastB = 0, lastS = 0, lastT = 0, targetCount = 0
    /// Where a backward that defers the token embedding keeps both lookups' rows (first use allocates).
    lazy var lookupRows = LookupRows(capacity: maxBatch * (maxSource + maxTarget), width: embeddingWidth)
    /// C, the width of the token embedding's rows.
    let embeddingWidth: Int
    var encoderStep = BlockStep(B: 1, T: 1), decoderStep = BlockStep(B: 1, T: 1)

    /// The decoder's dropout seeds start here (the encoder's at `dropoutSeed`).
    static let decoderSeed: UInt64 = 0x10000

    /// Validates `config` and throws one line unless a batch of (maxBatch, maxSource, maxTarget) holds
    /// at least one token each; a subclass calls it before allocating.
    static func check<Config: EncoderDecoderConfig>(_ config: Config, maxBatch: Int, maxSource: Int, maxTarget: Int) throws {
        try config.validate()
        guard maxBatch > 0, maxSource > 0, maxTarget > 0 else {
            throw ModelError("a \(Config.family) batch needs at least 1 sequence of at least 1 source and 1 target token (got \(maxBatch) × \(maxSource) → \(maxTarget))")
        }
    }

    /// Allocates `parameterCount` parameters and gradients and the token buffers of batches up to the
    /// activations' (B, S, T); builds both stacks from `config`'s block options, the layout's block
    /// `tables` and the activations; `logits` and `losses` are the head's regions in the activations.
    init<Config: EncoderDecoderConfig>(config: Config, parameterCount: Int, tables: (encoder: BlockTable, decoder: BlockTable),
                                       acts: EncoderDecoderActivations, logits: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>) throws {
        params = try FlatBuffer(count: parameterCount)
        grads = try FlatBuffer(count: parameterCount)
        encoder = TransformerBlock(config: config.encoderBlock, table: tables.encoder, acts: acts.encoder)
        decoder = TransformerBlock(config: config.decoderBlock, table: tables.decoder, acts: acts.decoder)
        self.logits = logits; self.losses = losses
        maxBatch = acts.B; maxSource = acts.S; maxTarget = acts.T
        vocabularySize = config.vocabSize; ignoreIndex = config.ignoreIndex; labelSmoothing = config.labelSmoothing
        embeddingWidth = config.dModel
        sourceTokens = .allocate(filling: 0, count: acts.B * acts.S)
        keep = .allocate(filling: 1, count: acts.B * acts.S)
        decoderTokens = .allocate(filling: 0, count: acts.B * acts.T)
        targets = .allocate(filling: 0, count: acts.B * acts.T)
    }

    deinit { sourceTokens.deallocate(); keep.deallocate(); decoderTokens.deallocate(); targets.deallocate() }

    /// Sets every gradient to zero.
    public func zeroGrad() { grads.zero() }

    @inline(__always) func timed(_ kind: StepProfile.Kind, _ body: () -> Void) { StepProfile.time(profile, kind, body) }

    /// Runs the encoder on `source` (B, S) with `sourceMask` (B, S; 1 = token, 0 = padding; nil = none)
    /// and the decoder on `decoderInput` (B, T). With `targets` (B, T; `ignoreIndex` where there is no
    /// target) returns the mean (label-smoothed, where the family smooths) cross-entropy (NaN when every
    /// target is ignored); without, returns 0 and leaves the logits of every position in `logits`.
    /// Throws when an id is outside the vocabulary.
    @discardableResult
    public func forward(source: UnsafePointer<Int32>, sourceMask: UnsafePointer<UInt8>?, decoderInput: UnsafePointer<Int32>,
                        targets target: UnsafePointer<Int32>?, B: Int, S: Int, T: Int) throws -> Float {
        precondition(B >= 1 && B <= maxBatch && S >= 1 && S <= maxSource && T >= 1 && T <= maxTarget,
                     "batch (\(B), \(S), \(T)) exceeds the allocated (\(maxBatch), \(maxSource), \(maxTarget))")
        let V = vocabularySize
        try Seq2Seq.check(source, B * S, "source token id", vocabularySize: V)
        try Seq2Seq.check(decoderInput, B * T, "decoder input id", vocabularySize: V)
        if let target { try Seq2Seq.check(target, B * T, "target", vocabularySize: V, ignored: ignoreIndex) }
        encode(source: source, sourceMask: sourceMask, B: B, S: S)
        decoderTokens.update(from: decoderInput, count: B * T)
        lastT = T
        decode(B: B, S: S, T: T)
        targetCount = 0
        guard let target else { return 0 }
        targets.update(from: target, count: B * T)
        var result: (sum: Double, count: Int) = (0, 0)
        timed(.loss) {
            result = CrossEntropy.forward(losses: losses, probs: logits, logits: logits, targets: targets, N: B * T, V: V,
                                          ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
        }
        targetCount = result.count
        return result.count > 0 ? Float(result.sum / Double(result.count)) : .nan
    }

    /// The encoder on `source` (B, S) with its padding (see `copySource`) into the subclass's encoder
    /// output; every subclass overrides it.
    func encode(source: UnsafePointer<Int32>, sourceMask: UnsafePointer<UInt8>?, B: Int, S: Int) {
        preconditionFailure("\(Self.self) must override encode")
    }

    /// The decoder on `decoderTokens` (B, T) over the last encoder output, then the head into `logits`;
    /// every subclass overrides it.
    func decode(B: Int, S: Int, T: Int) {
        preconditionFailure("\(Self.self) must override decode")
    }

    /// Copies `source` (B, S) and its padding (`sourceMask`, 1 = token, 0 = padding; nil = none) into the
    /// batch; returns the padding for the blocks, nil when no position is padded.
    func copySource(_ source: UnsafePointer<Int32>, sourceMask: UnsafePointer<UInt8>?, B: Int, S: Int) -> UnsafePointer<UInt8>? {
        let N = B * S
        sourceTokens.update(from: source, count: N)
        var padded = false
        for i in 0..<N {
            keep[i] = (sourceMask?[i] ?? 1) == 0 ? 0 : 1
            if keep[i] == 0 { padded = true }
        }
        lastB = B; lastS = S
        return padded ? UnsafePointer(keep) : nil
    }

    /// The start of backward: d(logits) of `lossScale` × the last loss in place of the probabilities in
    /// `logits`, then d(head input) into `d` (zeroed first) and the head weight's gradient, for a head
    /// (V, C) at `weight` in `params` that multiplied `input` (B·T, C).
    func headBackward(lossScale: Float, logits: UnsafeMutablePointer<Float>, into d: UnsafeMutablePointer<Float>,
                      input: UnsafePointer<Float>, weight: Int, C: Int) {
        precondition(targetCount > 0, "backward needs a forward with at least one target first")
        let N = lastB * lastT, V = vocabularySize
        timed(.loss) {
            CrossEntropy.backward(dlogits: logits, probs: logits, targets: targets, scale: lossScale / Float(targetCount),
                                  N: N, V: V, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
        }
        timed(.other) { VectorMath.zero(d, count: N * C) }
        timed(.matmul) {
            Linear.backwardTransposed(dinp: d, dweight: grads.pointer + weight, dbias: nil, dout: logits, inp: input,
                                      weight: params.pointer + weight, N: N, IC: C, OC: V, precision: bf16)
        }
    }
}
