import Support

// Element-wise feed-forward activations besides plain GELU: ReLU, and T5 v1.1's gated GELU.
//
// Shapes: inp, out, dinp, dout, gate, linear, dgate, dlinear (count) — any layout, typically (N, I).
//
// ReLU:       out = max(x, 0),                 dx += dout·[x > 0]
// Gated GELU: out = gelu(gate) ⊙ linear,       dgate += gelu'(gate)·linear·dout,  dlinear += gelu(gate)·dout

/// ReLU (the original Transformer's feed-forward).
public enum ReLU {
    /// out = max(inp, 0). `out` may alias `inp`.
    public static func forward(out: UnsafeMutablePointer<Float> /* (count) */,
                               inp: UnsafePointer<Float> /* (count) */, count: Int) {
        Parallel.elementBlocks(count) { lo, hi in
            for i in lo..<hi { out[i] = inp[i] > 0 ? inp[i] : 0 }
        }
    }

    /// dinp += dout where inp > 0 (accumulates).
    public static func backward(dinp: UnsafeMutablePointer<Float> /* (count) += */,
                                inp: UnsafePointer<Float> /* (count) */,
                                dout: UnsafePointer<Float> /* (count) */, count: Int) {
        Parallel.elementBlocks(count) { lo, hi in
            for i in lo..<hi where inp[i] > 0 { dinp[i] += dout[i] }
        }
    }
}

/// Gated GELU (T5 v1.1 `gated-gelu`): the GELU of one projection gates another, element-wise.
public enum GatedGELU {
    /// out = gelu(gate) ⊙ linear.
    public static func forward(out: UnsafeMutablePointer<Float> /* (count) */,
                               gate: UnsafePointer<Float> /* (count) */,
                               linear: UnsafePointer<Float> /* (count) */,
                               count: Int, kind: GELU.Kind = .tanh) {
        Parallel.elementBlocks(count) { lo, hi in
            var i = lo
            while i + 16 <= hi { out.store16(i, GELU.value(gate.load16(i), kind) * linear.load16(i)); i += 16 }
            if i < hi {
                let n = hi - i
                out.storePartial16(i, n, GELU.value(gate.loadPartial16(i, n), kind) * linear.loadPartial16(i, n))
            }
        }
    }

    /// dgate += gelu'(gate)·linear·dout and dlinear += gelu(gate)·dout (accumulate).
    public static func backward(dgate: UnsafeMutablePointer<Float> /* (count) += */,
                                dlinear: UnsafeMutablePointer<Float> /* (count) += */,
                                gate: UnsafePointer<Float> /* (count) */,
                                linear: UnsafePointer<Float> /* (count) */,
                                dout: UnsafePointer<Float> /* (count) */,
                                count: Int, kind: GELU.Kind = .tanh) {
        Parallel.elementBlocks(count) { lo, hi in
            var i = lo
            // Whole vectors, then one partial tail: masked loads on every chunk cost as much as the math.
            while i + 16 <= hi {
                let g = gate.load16(i), l = linear.load16(i), d = dout.load16(i)
                dgate.store16(i, dgate.load16(i).addingProduct(GELU.derivative(g, kind) * l, d))
                dlinear.store16(i, dlinear.load16(i).addingProduct(GELU.value(g, kind), d))
                i += 16
            }
            if i < hi {
                let n = hi - i
                let g = gate.loadPartial16(i, n), l = linear.loadPartial16(i, n), d = dout.loadPartial16(i, n)
                dgate.storePartial16(i, n, dgate.loadPartial16(i, n).addingProduct(GELU.derivative(g, kind) * l, d))
                dlinear.storePartial16(i, n, dlinear.loadPartial16(i, n).addingProduct(GELU.value(g, kind), d))
            }
        }
    }
}
