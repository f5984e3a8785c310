import Kernels

/// The options of one transformer block, shared by every family built on `TransformerBlock`.
///
/// Shapes: C model width, NH heads, hs head size, D = NH·hs the attention width (= C for GPT and
/// BERT; T5 has its own d_kv), I feed-forward width. Which linear layers have a bias, and whether the
/// norms have one, is not an option here: it follows from the family's `BlockTable` (a bias with no
/// offset there is absent).
public struct BlockConfig: Sendable, Equatable {
    /// Where each sublayer's norm sits.
    public enum NormPlacement: Sendable, Equatable {
        /// x = x + f(norm(x)) (GPT-2, T5, pre-LN BERT); the family adds a final norm.
        case pre
        /// x = norm(x + f(x)) (the original Transformer, BERT).
        case post
    }

    /// Which normalisation.
    public enum Norm: Sendable, Equatable {
        /// `nn.LayerNorm`: mean and variance, weight and bias.
        case layerNorm
        /// T5's RMS norm: no mean subtraction, no bias.
        case rmsNorm
    }

    /// The self-attention mask.
    public enum SelfAttention: Sendable, Equatable {
        /// Query i sees keys ≤ i (decoders).
        case causal
        /// Every key, except those the step's key-padding mask marks as padding (encoders).
        case padding
        /// Every key.
        case none
    }

    /// The feed-forward sublayer: out = act(x·W_in)·W_out.
    public enum FeedForward: Sendable, Equatable {
        /// GELU (tanh form for GPT-2, erf form for BERT).
        case gelu(GELU.Kind)
        /// ReLU (the original Transformer, T5 v1.0).
        case relu
        /// T5 v1.1: h = gelu(x·wi_0) ⊙ (x·wi_1), out = h·wo.
        case gatedGELU(GELU.Kind)
    }

    /// How the family stores linear weights.
    public enum Orientation: Sendable, Equatable {
        /// (in, out), GPT-2's `Conv1D`: out = inp·W (`Linear.forward`).
        case inOut
        /// (out, in), `nn.Linear` (BERT, T5): out = inp·Wᵀ (`Linear.forwardTransposed`).
        case outIn
    }

    /// Width, heads, head size and feed-forward width.
    public var C: Int, NH: Int, hs: Int, I: Int
    public var placement: NormPlacement
    public var norm: Norm
    /// The norms' epsilon.
    public var eps: Float
    public var selfAttention: SelfAttention
    /// Whether a cross-attention sublayer (queries from this sequence, keys and values from another)
    /// sits between self-attention and the feed-forward sublayer.
    public var crossAttention: Bool
    public var feedForward: FeedForward
    public var orientation: Orientation
    /// The attention score scale; nil: 1/√hs (T5: 1).
    public var attentionScale: Float?
    /// Dropout on each sublayer's output before the residual add, and on the attention probabilities;
    /// applied only in a training step.
    public var residualDropout: Float, attentionDropout: Float
    /// Dropout on the feed-forward activation, before the output projection (`nn.TransformerEncoderLayer`'s
    /// `linear2(dropout(activation(linear1(x))))`); applied only in a training step. 0 for GPT, BERT, T5.
    public var ffnDropout: Float = 0

    /// A block; the defaults are GPT-2's choices.
    public init(C: Int, NH: Int, hs: Int? = nil, I: Int? = nil, placement: NormPlacement = .pre, norm: Norm = .layerNorm,
                eps: Float = 1e-5, selfAttention: SelfAttention = .causal, crossAttention: Bool = false,
                feedForward: FeedForward = .gelu(.tanh), orientation: Orientation = .inOut, attentionScale: Float? = nil,
                residualDropout: Float = 0, attentionDropout: Float = 0, ffnDropout: Float = 0) {
        self.C = C; self.NH = NH; self.hs = hs ?? C / NH; self.I = I ?? 4 * C
        self.placement = placement; self.norm = norm; self.eps = eps
        self.selfAttention = selfAttention; self.crossAttention = crossAttention
        self.feedForward = feedForward; self.orientation = orientation; self.attentionScale = attentionScale
        self.residualDropout = residualDropout; self.attentionDropout = attentionDropout
        self.ffnDropout = ffnDropout
    }

    /// D = NH·hs, the width of q, k, v and the attention output.
    public var D: Int { NH * hs }

    /// Whether the feed-forward sublayer has a second input projection (wi_1).
    public var gated: Bool { if case .gatedGELU = feedForward { true } else { false } }
}

/// What each parameter of a block is, independent of any family's names.
///
/// Self-attention: `qkv` is one fused (C, 3D) / (3D, C) projection whose output is q | k | v (GPT-2's
/// c_attn; BERT's adjacent query, key, value weights). Cross-attention: `crossQ` (C → D) on this
/// sequence and a fused `crossKV` (C → 2D: k | v) on the other. Feed-forward: `ffnIn` (C → I), for a
/// gated FFN also `ffnLinear` (wi_1, C → I), then `ffnOut` (I → C). Norms: `norm1` belongs to
/// self-attention, `crossNorm` to cross-attention, `norm2` to the feed-forward sublayer.
public enum BlockRole: Int, CaseIterable, Sendable {
    case norm1Weight, norm1Bias, qkvWeight, qkvBias, attnOutWeight, attnOutBias
    case crossNormWeight, crossNormBias, crossQWeight, crossQBias, crossKVWeight, crossKVBias, crossOutWeight, crossOutBias
    case norm2Weight, norm2Bias, ffnInWeight, ffnInBias, ffnLinearWeight, ffnLinearBias, ffnOutWeight, ffnOutBias
}

/// Where each `BlockRole` lives within one block's slice of the flat parameter buffer; built by the
/// family from its own tensor table (names, order and shapes stay the family's).
public struct BlockTable: Sendable, Equatable {
    private var offsets: [Int?]

    /// A table from (role, offset within the block) pairs; roles not given are absent.
    public init(_ pairs: [(BlockRole, Int)]) {
        offsets = Array(repeating: nil, count: BlockRole.allCases.count)
        for (role, offset) in pairs { offsets[role.rawValue] = offset }
    }

    /// The offset of `role` within the block, or nil when the family has no such tensor.
    @inline(__always)
    public subscript(_ role: BlockRole) -> Int? { offsets[role.rawValue] }

    /// Checks that every tensor `config` needs is present (biases are optional, except LayerNorm's).
    public func validate(for config: BlockConfig) {
        var needed: [BlockRole] = [.norm1Weight, .qkvWeight, .attnOutWeight, .norm2Weight, .ffnInWeight, .ffnOutWeight]
        if config.crossAttention { needed += [.crossNormWeight, .crossQWeight, .crossKVWeight, .crossOutWeight] }
        if config.gated { needed.append(.ffnLinearWeight) }
        if config.norm == .layerNorm {
            needed += [.norm1Bias, .norm2Bias]
            if config.crossAttention { needed.append(.crossNormBias) }
        }
        for role in needed { precondition(self[role] != nil, "block table lacks \(role)") }
    }
}
