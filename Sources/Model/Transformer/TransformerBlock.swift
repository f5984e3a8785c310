import Kernels

/// The inputs of one step that every layer shares, forward and backward.
///
/// Shapes: B batch, T time, Tk the other sequence's length, C width, NH heads.
public struct BlockStep {
    /// Batch and sequence length of this step.
    public var B: Int, T: Int
    /// Self-attention key padding (B, T), 1 = token, 0 = padding; read when the mask is `.padding`.
    public var keyPadding: UnsafePointer<UInt8>?
    /// An additive self-attention score bias (NH, T, T) shared across the batch (T5's position bias),
    /// and where backward accumulates its gradient (+=).
    public var positionBias: UnsafePointer<Float>?, dPositionBias: UnsafeMutablePointer<Float>?
    /// Cross-attention: the other sequence (B, Tk, C), its key padding (B, Tk), and where backward
    /// accumulates the gradient w.r.t. it (+=; nil: not needed).
    public var encoder: UnsafePointer<Float>?, encoderPadding: UnsafePointer<UInt8>?, dEncoder: UnsafeMutablePointer<Float>?
    public var Tk: Int
    /// Whether this step applies dropout (training), and the seed of its counter-based masks.
    public var dropping: Bool, dropoutSeed: UInt64
    /// When set, every linear layer's products take bf16 operands (mixed precision); nil: fp32.
    public var bf16: BF16Matmul?

    /// A step of (B, T) with no padding, bias, other sequence or dropout.
    public init(B: Int, T: Int, keyPadding: UnsafePointer<UInt8>? = nil, positionBias: UnsafePointer<Float>? = nil,
                dPositionBias: UnsafeMutablePointer<Float>? = nil, encoder: UnsafePointer<Float>? = nil, Tk: Int = 0,
                encoderPadding: UnsafePointer<UInt8>? = nil, dEncoder: UnsafeMutablePointer<Float>? = nil,
                dropping: Bool = false, dropoutSeed: UInt64 = 0, bf16: BF16Matmul? = nil) {
        self.B = B; self.T = T; self.keyPadding = keyPadding
        self.positionBias = positionBias; self.dPositionBias = dPositionBias
        self.encoder = encoder; self.Tk = Tk; self.encoderPadding = encoderPadding; self.dEncoder = dEncoder
        self.dropping = dropping; self.dropoutSeed = dropoutSeed; self.bf16 = bf16
    }
}

/// One transformer block, forward and backward, shared by every family (GPT, BERT, and what builds
/// on them): self-attention, optional cross-attention, feed-forward, each a residual sublayer with
/// its norm before (pre-norm) or after (post-norm) it.
///
/// Shapes: B batch, T time, Tk other sequence, C width, NH heads, hs head size, D = NH·hs,
/// I feed-forward width, N = B·T. A layer's parameters are the block's slice of the family's flat
/// buffer, found through `table`; activations live in `acts` (every layer's, allocated once).
///
/// Composition, nanoGPT style, for pre-norm:
///     x = x + dropout(attn(norm1(x)))            attn(h) = proj(attention(qkv(h)))
///     x = x + dropout(cross(crossNorm(x), enc))  cross(h, e) = proj(attention(q(h), kv(e)))   (optional)
///     x = x + dropout(ffn(norm2(x)))             ffn(h) = out(act(in(h)))  or  out(gelu(in(h)) ⊙ lin(h))
/// and for post-norm x = norm(x + dropout(f(x))) per sublayer. Dropout masks are counter-based with
/// per-layer seeds (self: seed + 2 + 2l, ffn: seed + 3 + 2l, attention probabilities: seed + 0x1000 + l,
/// cross: seed + 0x3000 + l and + 0x4000 + l, feed-forward activation: seed + 0x5000 + l), so a step's
/// masks do not depend on threads or order.
public struct TransformerBlock {
    /// The block's options.
    public let config: BlockConfig
    /// Where each parameter sits in a layer's slice.
    public let table: BlockTable
    /// Saved activations of every layer, and shared backward scratch.
    public let acts: BlockActivations

    /// A block over activations `acts` allocated for `config` (the family allocates them once).
    public init(config: BlockConfig, table: BlockTable, acts: BlockActivations) {
        table.validate(for: config)
        precondition(!config.crossAttention || acts.Tk > 0, "cross-attention needs the other sequence's length Tk")
        self.config = config
        self.table = table
        self.acts = acts
    }

    /// A block for `layers` layers and batches up to (B, T), other sequence up to Tk.
    public init(config: BlockConfig, table: BlockTable, layers: Int, B: Int, T: Int, Tk: Int = 0) throws {
        try self.init(config: config, table: table, acts: BlockActivations(config: config, layers: layers, B: B, T: T, Tk: Tk))
    }

    /// The three residual sublayers, with their norm and residual regions.
    enum Sublayer: Int {
        case attention, cross, ffn

        var normWeight: BlockRole { switch self { case .attention: .norm1Weight; case .cross: .crossNormWeight; case .ffn: .norm2Weight } }
        var normBias: BlockRole { switch self { case .attention: .norm1Bias; case .cross: .crossNormBias; case .ffn: .norm2Bias } }
        var norm: BlockActivations.Region { switch self { case .attention: .attnNorm; case .cross: .crossNorm; case .ffn: .ffnNorm } }
        var mean: BlockActivations.Region { switch self { case .attention: .attnMean; case .cross: .crossMean; case .ffn: .ffnMean } }
        var rstd: BlockActivations.Region { switch self { case .attention: .attnRstd; case .cross: .crossRstd; case .ffn: .ffnRstd } }
        var residual: BlockActivations.Region {
            switch self { case .attention: .attnResidual; case .cross: .crossResidual; case .ffn: .ffnResidual }
        }

        /// The seed offset of this sublayer's residual dropout in layer l.
        func seed(_ l: Int) -> UInt64 {
            switch self { case .attention: UInt64(2 + 2 * l); case .cross: UInt64(0x3000 + l); case .ffn: UInt64(3 + 2 * l) }
        }
    }

    /// The output of sublayer `s` of layer `l` (B, T, C): its residual sum (pre-norm) or norm (post-norm).
    func output(_ s: Sublayer, _ l: Int) -> UnsafeMutablePointer<Float> {
        acts.pointer(config.placement == .pre ? s.residual : s.norm, layer: l)
    }

    /// The output of layer `l` (B, T, C), the next layer's input.
    public func output(layer l: Int) -> UnsafeMutablePointer<Float> { output(.ffn, l) }

    @inline(__always) func time(_ profile: StepProfile?, _ kind: StepProfile.Kind, _ body: () -> Void) {
        StepProfile.time(profile, kind, body)
    }

    // MARK: forward

    /// Runs layer `l` on `x` (B, T, C) with the layer's parameters at `w`; returns its output (B, T, C).
    @discardableResult
    public func forward(layer l: Int,
                        input x: UnsafePointer<Float> /* (B,T,C) */,
                        params w: UnsafePointer<Float> /* the layer's slice of the flat buffer */,
                        step: BlockStep, profile: StepProfile?) -> UnsafePointer<Float> /* (B,T,C) */ {
        precondition(step.B >= 1 && step.B <= acts.B && step.T >= 1 && step.T <= acts.T, "batch exceeds the block's buffers")
        precondition(acts.operandBytes == nil || acts.operandBytes == step.bf16?.elementSize, "activations kept for another precision")
        var h = sublayerForward(.attention, l, x, w, step, profile) { inp, out in attentionForward(l, inp, out, w, step, profile) }
        if config.crossAttention {
            precondition(step.encoder != nil && step.Tk >= 1 && step.Tk <= acts.Tk, "cross-attention needs the other sequence")
            h = sublayerForward(.cross, l, h, w, step, profile) { inp, out in crossForward(l, inp, out, w, step, profile) }
        }
        return sublayerForward(.ffn, l, h, w, step, profile) { inp, out in ffnForward(l, inp, out, w, step, profile) }
    }

    /// One residual sublayer: `branch(inp, out)` writes f(inp) (B, T, C) into `out`, the residual region.
    private func sublayerForward(_ s: Sublayer, _ l: Int, _ x: UnsafePointer<Float> /* (B,T,C) */, _ w: UnsafePointer<Float>, _ step: BlockStep,
                                 _ profile: StepProfile?,
                                 branch: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> UnsafePointer<Float> {
        let N = step.B * step.T, C = config.C, pre = config.placement == .pre
        let norm = staging(s.norm, l, .dBranch), res = acts.pointer(s.residual, layer: l)
        if pre {
            time(profile, .other) {
                normForward(s, l, out: norm, inp: x, w, N: N)
                keepOperand(s.norm, l, from: norm, count: N * C, step)
            }
        }
        branch(pre ? UnsafePointer(norm) : x, res)
        time(profile, .other) {
            if step.dropping, config.residualDropout > 0 {
                Dropout.forward(out: res, mask: acts.mask(layer: l, sublayer: s.rawValue), inp: res, count: N * C,
                                p: config.residualDropout, seed: step.dropoutSeed &+ s.seed(l))
            }
            Residual.forward(out: res, a: x, b: res, count: N * C)
            if !pre { normForward(s, l, out: norm, inp: res, w, N: N) }
        }
        return UnsafePointer(pre ? res : norm)
    }

    /// out (B,T,C) = proj(attention(qkv(inp))): self-attention, causal / padded / plain, optional bias.
    private func attentionForward(_ l: Int, _ inp: UnsafePointer<Float> /* (B,T,C) */, _ out: UnsafeMutablePointer<Float> /* (B,T,C) */,
                                  _ w: UnsafePointer<Float>, _ step: BlockStep, _ profile: StepProfile?) {
        let B = step.B, T = step.T, N = B * T, C = config.C, D = config.D
        let qkv = acts.pointer(.qkv, layer: l), atty = staging(.atty, l, .dAttY)
        time(profile, .matmul) {
            linear(out: qkv, inp: inp, rounded: acts.operand(.attnNorm, layer: l), w, .qkvWeight, .qkvBias, N: N, IC: C, OC: 3 * D, step.bf16)
        }
        time(profile, .attention) {
            let p = step.dropping ? config.attentionDropout : 0
            Attention.forward(out: atty, att: acts.pointer(.att, layer: l), q: qkv, ldq: 3 * D, k: qkv + D, ldk: 3 * D,
                              v: qkv + 2 * D, ldv: 3 * D, B: B, Tq: T, Tk: T, NH: config.NH, hs: config.hs,
                              scale: config.attentionScale, causal: config.selfAttention == .causal,
                              keyPadding: config.selfAttention == .padding ? step.keyPadding : nil, bias: step.positionBias,
                              dropout: p, seed: step.dropoutSeed &+ UInt64(0x1000 + l),
                              dropped: p > 0 ? acts.pointer(.attDropped, layer: l) : nil, precision: step.bf16)
        }
        project(.atty, l, atty, out: out, w, .attnOutWeight, .attnOutBias, step, profile)
    }

    /// out (B,T,C) = proj(attention(q(inp), kv(encoder))): queries from this sequence, keys and values
    /// from the other (B, Tk, C), with its key padding.
    private func crossForward(_ l: Int, _ inp: UnsafePointer<Float> /* (B,T,C) */, _ out: UnsafeMutablePointer<Float> /* (B,T,C) */,
                              _ w: UnsafePointer<Float>, _ step: BlockStep, _ profile: StepProfile?) {
        let B = step.B, T = step.T, Tk = step.Tk, N = B * T, C = config.C, D = config.D
        let q = acts.pointer(.crossQ, layer: l), kv = acts.pointer(.crossKV, layer: l), y = staging(.crossY, l, .dAttY)
        time(profile, .matmul) {
            linear(out: q, inp: inp, rounded: acts.operand(.crossNorm, layer: l), w, .crossQWeight, .crossQBias, N: N, IC: C, OC: D, step.bf16)
            linear(out: kv, inp: step.encoder!, w, .crossKVWeight, .crossKVBias, N: B * Tk, IC: C, OC: 2 * D, step.bf16)
        }
        time(profile, .attention) {
            let p = step.dropping ? config.attentionDropout : 0
            Attention.forward(out: y, att: acts.pointer(.crossAtt, layer: l), q: q, ldq: D, k: kv, ldk: 2 * D, v: kv + D, ldv: 2 * D,
                              B: B, Tq: T, Tk: Tk, NH: config.NH, hs: config.hs, scale: config.attentionScale, causal: false,
                              keyPadding: step.encoderPadding, dropout: p, seed: step.dropoutSeed &+ UInt64(0x4000 + l),
                              dropped: p > 0 ? acts.pointer(.crossAttDropped, layer: l) : nil, precision: step.bf16)
        }
        project(.crossY, l, y, out: out, w, .crossOutWeight, .crossOutBias, step, profile)
    }

    /// out (B,T,C) = y·Wo + bo, the output projection of an attention sublayer whose output `y` (B,T,D)
    /// is region `r` of layer `l` (kept rounded first, under mixed precision).
    private func project(_ r: BlockActivations.Region, _ l: Int, _ y: UnsafeMutablePointer<Float> /* (B,T,D) */,
                         out: UnsafeMutablePointer<Float> /* (B,T,C) */, _ w: UnsafePointer<Float>, _ weight: BlockRole, _ bias: BlockRole,
                         _ step: BlockStep, _ profile: StepProfile?) {
        let N = step.B * step.T
        time(profile, .other) { keepOperand(r, l, from: y, count: N * config.D, step) }
        time(profile, .matmul) {
            linear(out: out, inp: y, rounded: acts.operand(r, layer: l), w, weight, bias, N: N, IC: config.D, OC: config.C, step.bf16)
        }
    }

    /// out (B,T,C) = ffnOut(act(ffnIn(inp))), or with a gate ffnOut(gelu(ffnIn(inp)) ⊙ ffnLinear(inp)).
    private func ffnForward(_ l: Int, _ inp: UnsafePointer<Float> /* (B,T,C) */, _ out: UnsafeMutablePointer<Float> /* (B,T,C) */,
                            _ w: UnsafePointer<Float>, _ step: BlockStep, _ profile: StepProfile?) {
        let N = step.B * step.T, C = config.C, I = config.I
        let fch = acts.pointer(.fch, layer: l), lin = acts.pointer(.fchLinear, layer: l)
        let act = acts.recomputesActivation ? acts.pointer(.dFchAct) : acts.pointer(.fchAct, layer: l)
        let x = acts.operand(.ffnNorm, layer: l)
        time(profile, .matmul) {
            linear(out: fch, inp: inp, rounded: x, w, .ffnInWeight, .ffnInBias, N: N, IC: C, OC: I, step.bf16)
            if config.gated { linear(out: lin, inp: inp, rounded: x, w, .ffnLinearWeight, .ffnLinearBias, N: N, IC: C, OC: I, step.bf16) }
        }
        time(profile, .other) { activation(out: act, fch, lin, count: N * I, layer: l, step) }
        time(profile, .matmul) { linear(out: out, inp: act, w, .ffnOutWeight, .ffnOutBias, N: N, IC: I, OC: C, step.bf16) }
    }

    /// The feed-forward activation of `fch` (and `lin`, gated) into `out`, `count` elements, then the
    /// feed-forward dropout of layer `layer` when `step` drops (its mask drawn from the step's seed, so a
    /// recomputation in backward gives the same numbers and mask).
    func activation(out: UnsafeMutablePointer<Float>, _ fch: UnsafePointer<Float>, _ lin: UnsafePointer<Float>, count: Int,
                    layer: Int, _ step: BlockStep) {
        switch config.feedForward {
        case .gelu(let kind): GELU.forward(out: out, inp: fch, count: count, kind: kind)
        case .relu: ReLU.forward(out: out, inp: fch, count: count)
        case .gatedGELU(let kind): GatedGELU.forward(out: out, gate: fch, linear: lin, count: count, kind: kind)
        }
        if step.dropping, config.ffnDropout > 0 {
            Dropout.forward(out: out, mask: acts.ffnMask(layer: layer), inp: out, count: count, p: config.ffnDropout,
                            seed: step.dropoutSeed &+ UInt64(0x5000 + layer))
        }
    }

    /// out (N,OC) = inp (N,IC) · W + b in the family's weight orientation; b only when the table has it.
    /// `rounded`: the input as kept rounded (`BlockActivations.operand`), used instead of `inp`.
    @inline(__always)
    func linear(out: UnsafeMutablePointer<Float> /* (N,OC) */, inp: UnsafePointer<Float> /* (N,IC) */, rounded: UnsafeMutableRawPointer? = nil,
                _ w: UnsafePointer<Float>, _ weight: BlockRole, _ bias: BlockRole, N: Int, IC: Int, OC: Int, _ bf16: BF16Matmul?) {
        let W = w + table[weight]!, b = table[bias].map { w + $0 }, r = rounded.map(UnsafeRawPointer.init)
        switch config.orientation {
        case .inOut: Linear.forward(out: out, inp: inp, weight: W, bias: b, N: N, IC: IC, OC: OC, precision: bf16, roundedInput: r)
        case .outIn: Linear.forwardTransposed(out: out, inp: inp, weight: W, bias: b, N: N, IC: IC, OC: OC, precision: bf16, roundedInput: r)
        }
    }

    /// Where forward writes region `r` of layer `l` in fp32: the region, or the scratch `temp` when the
    /// region keeps rounded operands (`keepOperand` then rounds into it).
    func staging(_ r: BlockActivations.Region, _ l: Int, _ temp: BlockActivations.Scratch) -> UnsafeMutablePointer<Float> {
        acts.operand(r, layer: l) == nil ? acts.pointer(r, layer: l) : acts.pointer(temp)
    }

    /// Rounds `count` fp32 values at `src` into region `r` of layer `l` when it keeps rounded operands.
    func keepOperand(_ r: BlockActivations.Region, _ l: Int, from src: UnsafePointer<Float>, count: Int, _ step: BlockStep) {
        guard let dst = acts.operand(r, layer: l), let bf16 = step.bf16 else { return }
        BF16Rounding.round(src, into: dst, count: count, native: bf16.path == .native)
    }

    /// norm_s (N,C) of `inp` with the sublayer's weights, saving its statistics.
    func normForward(_ s: Sublayer, _ l: Int, out: UnsafeMutablePointer<Float> /* (N,C) */, inp: UnsafePointer<Float> /* (N,C) */,
                     _ w: UnsafePointer<Float>, N: Int) {
        let weight = w + table[s.normWeight]!, rstd = acts.pointer(s.rstd, layer: l)
        switch config.norm {
        case .layerNorm:
            LayerNorm.forward(out: out, mean: acts.pointer(s.mean, layer: l), rstd: rstd, inp: inp, weight: weight,
                              bias: w + table[s.normBias]!, N: N, C: config.C, eps: config.eps)
        case .rmsNorm:
            RMSNorm.forward(out: out, rstd: rstd, inp: inp, weight: weight, N: N, C: config.C, eps: config.eps)
        }
    }
}
