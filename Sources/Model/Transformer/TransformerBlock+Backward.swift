import Kernels

/// The block's backward: the sublayers in reverse order, each accumulating into the layer's gradient
/// slice and handing the gradient w.r.t. its input to the one before.
///
/// Shapes as `TransformerBlock`. Two (B, T, C) buffers `d` and `e` carry the activation gradient:
/// `d` holds the gradient w.r.t. the current point of the block and `e` is scratch; they swap roles
/// where a post-norm backward writes a fresh gradient. Everything else is `BlockActivations.Scratch`.
extension TransformerBlock {
    /// Backward of layer `l`, whose input was `x` (B, T, C): `d` holds d(output) on entry; gradients of
    /// the layer's parameters are added at `g` (same slice layout as `w`), of the position bias and the
    /// other sequence into the step's `dPositionBias` and `dEncoder`. Returns which of `d`, `e` holds
    /// d(x) on exit (the other is free scratch).
    public func backward(layer l: Int,
                         input x: UnsafePointer<Float> /* (B,T,C) */,
                         params w: UnsafePointer<Float> /* the layer's slice */,
                         grads g: UnsafeMutablePointer<Float> /* the layer's slice, += */,
                         d: UnsafeMutablePointer<Float> /* (B,T,C) d(output) */,
                         e: UnsafeMutablePointer<Float> /* (B,T,C) scratch */,
                         step: BlockStep, profile: StepProfile?) -> (d: UnsafeMutablePointer<Float>, e: UnsafeMutablePointer<Float>) {
        var d = d, e = e
        let beforeFFN: UnsafePointer<Float> = config.crossAttention ? UnsafePointer(output(.cross, l)) : UnsafePointer(output(.attention, l))
        sublayerBackward(.ffn, l, beforeFFN, w, g, &d, &e, step, profile) { dout, inp, dinp in
            ffnBackward(l, dout, inp, dinp, w, g, step, profile)
        }
        if config.crossAttention {
            sublayerBackward(.cross, l, output(.attention, l), w, g, &d, &e, step, profile) { dout, inp, dinp in
                crossBackward(l, dout, inp, dinp, w, g, step, profile)
            }
        }
        sublayerBackward(.attention, l, x, w, g, &d, &e, step, profile) { dout, inp, dinp in
            attentionBackward(l, dout, inp, dinp, w, g, step, profile)
        }
        return (d, e)
    }

    /// One residual sublayer's backward. `branch(dout, inp, dinp)` adds d(inp) (B, T, C) into `dinp`
    /// given the gradient `dout` of the branch output (after dropout), `inp` the branch's input.
    private func sublayerBackward(_ s: Sublayer, _ l: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                                  _ g: UnsafeMutablePointer<Float>, _ d: inout UnsafeMutablePointer<Float>,
                                  _ e: inout UnsafeMutablePointer<Float>, _ step: BlockStep, _ profile: StepProfile?,
                                  branch: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let N = step.B * step.T, C = config.C, pre = config.placement == .pre
        let norm = acts.pointer(s.norm, layer: l), res = acts.pointer(s.residual, layer: l)
        if !pre {   // output = norm(res): d(res) into e, which becomes d
            time(profile, .other) {
                VectorMath.zero(e, count: N * C)
                normBackward(s, l, dinp: e, dout: d, inp: res, w, g, N: N)
            }
            swap(&d, &e)
        }
        // d = d(res) = the residual path's part of d(x).
        var dout = UnsafePointer(d)
        if step.dropping, config.residualDropout > 0 {
            let dBranch = acts.pointer(.dBranch)
            time(profile, .other) {
                VectorMath.zero(dBranch, count: N * C)
                Dropout.backward(dinp: dBranch, dout: d, mask: acts.mask(layer: l, sublayer: s.rawValue), count: N * C, p: config.residualDropout)
            }
            dout = UnsafePointer(dBranch)
        }
        if pre {    // res = x + f(norm(x)): d(norm) into e, then the norm adds into d
            time(profile, .other) { VectorMath.zero(e, count: N * C) }
            branch(dout, norm, e)
            time(profile, .other) { normBackward(s, l, dinp: d, dout: e, inp: x, w, g, N: N) }
        } else {    // res = x + f(x): the branch adds into d (it reads dout before its last step writes d)
            branch(dout, x, d)
        }
    }

    /// Self-attention backward: proj, attention (and the position bias), qkv.
    private func attentionBackward(_ l: Int, _ dout: UnsafePointer<Float> /* (B,T,C) */, _ inp: UnsafePointer<Float> /* (B,T,C) */,
                                   _ dinp: UnsafeMutablePointer<Float> /* (B,T,C) += */, _ w: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                                   _ step: BlockStep, _ profile: StepProfile?) {
        let B = step.B, T = step.T, N = B * T, C = config.C, D = config.D
        let dAttY = acts.pointer(.dAttY), dQKV = acts.pointer(.dQKV)
        let qkv = acts.pointer(.qkv, layer: l)
        time(profile, .other) { VectorMath.zero(dAttY, count: N * D) }
        time(profile, .matmul) {
            linearBackward(dinp: dAttY, dout: dout, inp: acts.pointer(.atty, layer: l), rounded: acts.operand(.atty, layer: l), w, g, .attnOutWeight, .attnOutBias, N: N, IC: D, OC: C, step.bf16)
        }
        time(profile, .other) { VectorMath.zero(dQKV, count: N * 3 * D) }
        time(profile, .attention) {
            let p = step.dropping ? config.attentionDropout : 0
            Attention.backward(dq: dQKV, dk: dQKV + D, dv: dQKV + 2 * D, dbias: step.dPositionBias, scratch: acts.pointer(.dScores), dout: dAttY,
                               q: qkv, ldq: 3 * D, k: qkv + D, ldk: 3 * D, v: qkv + 2 * D, ldv: 3 * D, att: acts.pointer(.att, layer: l),
                               B: B, Tq: T, Tk: T, NH: config.NH, hs: config.hs, scale: config.attentionScale,
                               causal: config.selfAttention == .causal, dropout: p,
                               dropped: p > 0 ? UnsafePointer(acts.pointer(.attDropped, layer: l)) : nil, precision: step.bf16)
        }
        time(profile, .matmul) {
            linearBackward(dinp: dinp, dout: dQKV, inp: inp, rounded: acts.operand(.attnNorm, layer: l), w, g, .qkvWeight, .qkvBias,
                           N: N, IC: C, OC: 3 * D, step.bf16)
        }
    }

    /// Cross-attention backward: proj, attention, q (into `dinp`) and kv (into the step's dEncoder).
    private func crossBackward(_ l: Int, _ dout: UnsafePointer<Float> /* (B,T,C) */, _ inp: UnsafePointer<Float> /* (B,T,C) */,
                               _ dinp: UnsafeMutablePointer<Float> /* (B,T,C) += */, _ w: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                               _ step: BlockStep, _ profile: StepProfile?) {
        let B = step.B, T = step.T, Tk = step.Tk, N = B * T, C = config.C, D = config.D
        let dY = acts.pointer(.dAttY), dQ = acts.pointer(.dCrossQ), dKV = acts.pointer(.dCrossKV)
        let q = acts.pointer(.crossQ, layer: l), kv = acts.pointer(.crossKV, layer: l)
        time(profile, .other) { VectorMath.zero(dY, count: N * D) }
        time(profile, .matmul) {
            linearBackward(dinp: dY, dout: dout, inp: acts.pointer(.crossY, layer: l), rounded: acts.operand(.crossY, layer: l), w, g, .crossOutWeight, .crossOutBias, N: N, IC: D, OC: C, step.bf16)
        }
        time(profile, .other) { VectorMath.zero(dQ, count: N * D); VectorMath.zero(dKV, count: B * Tk * 2 * D) }
        time(profile, .attention) {
            let p = step.dropping ? config.attentionDropout : 0
            Attention.backward(dq: dQ, dk: dKV, dv: dKV + D, scratch: acts.pointer(.dScores), dout: dY,
                               q: q, ldq: D, k: kv, ldk: 2 * D, v: kv + D, ldv: 2 * D, att: acts.pointer(.crossAtt, layer: l),
                               B: B, Tq: T, Tk: Tk, NH: config.NH, hs: config.hs, scale: config.attentionScale, causal: false,
                               dropout: p, dropped: p > 0 ? UnsafePointer(acts.pointer(.crossAttDropped, layer: l)) : nil, precision: step.bf16)
        }
        time(profile, .matmul) {
            linearBackward(dinp: step.dEncoder, dout: dKV, inp: step.encoder!, w, g, .crossKVWeight, .crossKVBias, N: B * Tk, IC: C, OC: 2 * D, step.bf16)
            linearBackward(dinp: dinp, dout: dQ, inp: inp, rounded: acts.operand(.crossNorm, layer: l), w, g, .crossQWeight, .crossQBias, N: N, IC: C, OC: D, step.bf16)
        }
    }

    /// Feed-forward backward: out, the activation (or the gate), in (and lin).
    private func ffnBackward(_ l: Int, _ dout: UnsafePointer<Float> /* (B,T,C) */, _ inp: UnsafePointer<Float> /* (B,T,C) */,
                             _ dinp: UnsafeMutablePointer<Float> /* (B,T,C) += */, _ w: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                             _ step: BlockStep, _ profile: StepProfile?) {
        let N = step.B * step.T, C = config.C, I = config.I
        let dAct = acts.pointer(.dFchAct), dFch = acts.pointer(.dFch), dLin = acts.pointer(.dFchLinear)
        let fch = acts.pointer(.fch, layer: l), lin = acts.pointer(.fchLinear, layer: l)
        var act = UnsafePointer(acts.pointer(.fchAct, layer: l))
        time(profile, .other) {
            VectorMath.zero(dAct, count: N * I)
            if acts.recomputesActivation {   // not kept: recomputed into dFch, free until the activation's backward
                activation(out: dFch, fch, lin, count: N * I, layer: l, step)
                act = UnsafePointer(dFch)
            }
        }
        time(profile, .matmul) {
            linearBackward(dinp: dAct, dout: dout, inp: act, w, g, .ffnOutWeight, .ffnOutBias, N: N, IC: I, OC: C, step.bf16)
        }
        time(profile, .other) {
            if step.dropping, config.ffnDropout > 0 {   // dAct = d(dropped act) · mask / (1 − p), through dFch
                VectorMath.zero(dFch, count: N * I)
                Dropout.backward(dinp: dFch, dout: dAct, mask: acts.ffnMask(layer: l), count: N * I, p: config.ffnDropout)
                dAct.update(from: dFch, count: N * I)
            }
            VectorMath.zero(dFch, count: N * I)
            switch config.feedForward {
            case .gelu(let kind): GELU.backward(dinp: dFch, inp: fch, dout: dAct, count: N * I, kind: kind)
            case .relu: ReLU.backward(dinp: dFch, inp: fch, dout: dAct, count: N * I)
            case .gatedGELU(let kind):
                VectorMath.zero(dLin, count: N * I)
                GatedGELU.backward(dgate: dFch, dlinear: dLin, gate: fch, linear: lin, dout: dAct, count: N * I, kind: kind)
            }
        }
        time(profile, .matmul) {
            let x = acts.operand(.ffnNorm, layer: l)
            if config.gated {
                linearBackward(dinp: dinp, dout: dLin, inp: inp, rounded: x, w, g, .ffnLinearWeight, .ffnLinearBias, N: N, IC: C, OC: I, step.bf16)
            }
            linearBackward(dinp: dinp, dout: dFch, inp: inp, rounded: x, w, g, .ffnInWeight, .ffnInBias, N: N, IC: C, OC: I, step.bf16)
        }
    }

    /// Accumulates dinp, dW and (when the table has the bias) db of `linear`.
    @inline(__always)
    func linearBackward(dinp: UnsafeMutablePointer<Float>? /* (N,IC) += */, dout: UnsafePointer<Float> /* (N,OC) */,
                        inp: UnsafePointer<Float> /* (N,IC) */, rounded: UnsafeMutableRawPointer? = nil,
                        _ w: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ weight: BlockRole, _ bias: BlockRole,
                        N: Int, IC: Int, OC: Int, _ bf16: BF16Matmul?) {
        let offset = table[weight]!, db = table[bias].map { g + $0 }, r = rounded.map(UnsafeRawPointer.init)
        switch config.orientation {
        case .inOut:
            Linear.backward(dinp: dinp, dweight: g + offset, dbias: db, dout: dout, inp: inp, weight: w + offset, N: N, IC: IC, OC: OC,
                            precision: bf16, roundedInput: r)
        case .outIn:
            Linear.backwardTransposed(dinp: dinp, dweight: g + offset, dbias: db, dout: dout, inp: inp, weight: w + offset, N: N, IC: IC, OC: OC,
                                      precision: bf16, roundedInput: r)
        }
    }

    /// Accumulates dinp (+=) and the norm's weight (and bias) gradients for norm_s of layer l.
    func normBackward(_ s: Sublayer, _ l: Int, dinp: UnsafeMutablePointer<Float> /* (N,C) += */, dout: UnsafePointer<Float> /* (N,C) */,
                      inp: UnsafePointer<Float> /* (N,C) */,
                      _ w: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, N: Int) {
        let weight = table[s.normWeight]!, rstd = acts.pointer(s.rstd, layer: l)
        switch config.norm {
        case .layerNorm:
            let bias = table[s.normBias]!
            LayerNorm.backward(dinp: dinp, dweight: g + weight, dbias: g + bias, dout: dout, inp: inp, weight: w + weight,
                               mean: acts.pointer(s.mean, layer: l), rstd: rstd, N: N, C: config.C)
        case .rmsNorm:
            RMSNorm.backward(dinp: dinp, dweight: g + weight, dout: dout, inp: inp, weight: w + weight, rstd: rstd, N: N, C: config.C)
        }
    }
}
