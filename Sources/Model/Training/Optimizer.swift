import Kernels

/// The optimizer over the flat parameter buffer: AdamW with PyTorch `torch.optim.AdamW` semantics;
/// with `kind: .muon`, the blocks' weight matrices take Muon steps instead (`torch.optim.Muon`, RMS
/// matched to AdamW's, so the same `lr` and `weightDecay` serve both).
///
/// The moments `m` and `v` cover `shard`, a range of the flat buffer: the whole buffer for plain data
/// parallelism, or one rank's part under ZeRO-1. Weight decay applies to tensors with ≥ 2 dimensions
/// only (embeddings and weight matrices), as nanoGPT and GPT-2 do. A Muon matrix keeps its momentum
/// in `m` (its `v` stays zero), so checkpoints hold either optimizer's state in the same layout.
public final class Optimizer {
    /// Which update the blocks' weight matrices take (`optimizer.kind`); everything else takes AdamW.
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// AdamW for every parameter.
        case adamw
        /// Muon for the blocks' weight matrices, AdamW for embeddings, heads, norms and biases.
        case muon
    }

    /// Hyperparameters; `lr` is the peak rate the schedule scales.
    public struct Settings: Codable, Equatable, Sendable {
        public var lr: Float = 3e-4
        public var beta1: Float = 0.9
        public var beta2: Float = 0.95
        public var eps: Float = 1e-8
        public var weightDecay: Float = 0.1
        /// Global gradient-norm clipping threshold; 0 turns clipping off.
        public var gradClip: Float = 1.0
        /// AdamW everywhere, or Muon for the blocks' weight matrices.
        public var kind = Kind.adamw
        /// Muon's momentum μ (Nesterov).
        public var muonMomentum: Float = 0.95
        public init() {}
    }

    /// The hyperparameters in use.
    public var settings: Settings
    /// The flat-buffer range these moments cover.
    public let shard: Range<Int>
    /// First moments, indexed from `shard.lowerBound`.
    public let m: FlatBuffer
    /// Second moments, indexed from `shard.lowerBound`.
    public let v: FlatBuffer
    /// Steps taken so far (the bias-correction exponent of the next step is `t + 1`).
    public private(set) var t = 0
    /// Decay and no-decay sub-ranges of `shard`, precomputed so a step allocates nothing.
    private let pieces: [(range: Range<Int>, decay: Bool)]
    /// The matrices Muon updates (empty for AdamW): flat range and shape, in storage order.
    public let matrices: [(range: Range<Int>, rows: Int, cols: Int)]
    /// Muon's work space, sized for the largest matrix.
    private let scratch: FlatBuffer?

    /// An optimizer for `shard` of a model laid out by `layout`.
    public init(layout: some ParameterTable, settings: Settings, shard: Range<Int>? = nil) throws {
        let shard = shard ?? 0..<layout.count
        self.settings = settings
        self.shard = shard
        m = try FlatBuffer(count: shard.count)
        v = try FlatBuffer(count: shard.count)
        var pieces: [(Range<Int>, Bool)] = []
        var matrices: [(range: Range<Int>, rows: Int, cols: Int)] = []
        for (tensor, part) in layout.tensors(overlapping: shard) {
            if settings.kind == .muon, tensor.isHiddenMatrix {
                guard part == tensor.range else {
                    throw ModelError("optimizer.kind: muon needs whole matrices on each rank, and \(tensor.name) is split between ranks; set training.zero1: false")
                }
                matrices.append((part, tensor.shape[0], tensor.shape[1]))
                continue
            }
            if let last = pieces.last, last.1 == tensor.decay, last.0.upperBound == part.lowerBound {
                pieces[pieces.count - 1].0 = last.0.lowerBound..<part.upperBound
            } else {
                pieces.append((part, tensor.decay))
            }
        }
        self.pieces = pieces
        self.matrices = matrices
        let work = matrices.map { Muon.scratchCount(rows: $0.rows, cols: $0.cols) }.max() ?? 0
        scratch = work > 0 ? try FlatBuffer(count: work) : nil
    }

    /// Restores the step counter (checkpoint resume).
    public func setStep(_ step: Int) { t = step }

    /// The scale clipping applies for a global gradient norm: min(1, clip / (norm + 1e-6)), as PyTorch's
    /// `clip_grad_norm_`.
    public func clipScale(gradNorm: Double) -> Float {
        guard settings.gradClip > 0, gradNorm.isFinite else { return 1 }
        return Float(min(1, Double(settings.gradClip) / (gradNorm + 1e-6)))
    }

    /// One AdamW step on `shard` of `params` with `grads` (same layout), at learning rate `lr`, with
    /// gradients multiplied by `gradScale` first (clipping). With `bf16` (holding `params` attached),
    /// the same pass refreshes its bf16 copy of the weights it updates. With `muonShare` (one flag per
    /// entry of `matrices`), only the flagged matrices take their Muon step; the others move their
    /// momentum only and are expected to arrive from the rank that stepped them.
    public func step(params: FlatBuffer, grads: FlatBuffer, lr: Float, gradScale: Float = 1, bf16: BF16Matmul? = nil,
                     muonShare: [Bool]? = nil) {
        t += 1
        // Elements that bf16 keeps no copy of (`BF16Matmul.unrounded`) are updated on their own.
        let bare = bf16?.unrounded ?? 0..<0
        for piece in pieces {
            let r = piece.range
            func update(_ sub: Range<Int>) {
                guard !sub.isEmpty else { return }
                let local = sub.lowerBound - shard.lowerBound
                AdamW.step(params: params.pointer + sub.lowerBound, grads: grads.pointer + sub.lowerBound,
                           m: m.pointer + local, v: v.pointer + local, count: sub.count, lr: lr,
                           beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps,
                           weightDecay: piece.decay ? settings.weightDecay : 0, t: t, gradScale: gradScale,
                           rounded: bf16?.roundedWeights(at: sub.lowerBound))
            }
            let inside = r.clamped(to: bare)
            if inside.isEmpty { update(r); continue }
            update(r.lowerBound..<inside.lowerBound)
            update(inside)
            update(inside.upperBound..<r.upperBound)
        }
        for (index, matrix) in matrices.enumerated() {
            let r = matrix.range
            Muon.step(param: params.pointer + r.lowerBound, grad: grads.pointer + r.lowerBound,
                      momentum: m.pointer + (r.lowerBound - shard.lowerBound), rows: matrix.rows, cols: matrix.cols,
                      lr: lr, mu: settings.muonMomentum, weightDecay: settings.weightDecay, gradScale: gradScale,
                      scratch: scratch!.pointer, rounded: r.overlaps(bare) ? nil : bf16?.roundedWeights(at: r.lowerBound),
                      apply: muonShare?[index] ?? true)
        }
    }

    /// The global L2 norm of `grads` over `range` (the whole buffer unless given).
    public static func gradNorm(_ grads: FlatBuffer, range: Range<Int>? = nil) -> Double {
        let r = range ?? 0..<grads.count
        return VectorMath.sumOfSquares(grads.pointer + r.lowerBound, count: r.count).squareRoot()
    }
}
