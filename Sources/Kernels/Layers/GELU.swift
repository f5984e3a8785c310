import Foundation
import Support

// Gaussian error linear unit, element-wise.
//
// Shapes: inp, out, dinp, dout (count) — any layout, typically (N, 4C).
//
// tanh form (GPT-2 "gelu_new"):  gelu(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³).
//   Computed as x·σ(2u) (σ the logistic function; identical since ½(1 + tanh u) = σ(2u)), which avoids
//   the cancellation of 1 + tanh(u) for negative x.  gelu'(x) = σ(2u) + 2x·σ(2u)(1 − σ(2u))·u'.
// erf form (BERT, PyTorch's default nn.GELU):  gelu(x) = x·Φ(x),  gelu'(x) = Φ(x) + x·φ(x).

/// GELU activation, tanh approximation (GPT-2) or exact erf form (BERT).
public enum GELU {
    /// Which GELU formula.
    public enum Kind: Sendable {
        /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))), PyTorch `approximate="tanh"`.
        case tanh
        /// x·Φ(x) with the exact normal CDF, PyTorch's default.
        case erf
    }

    static let sqrt2OverPi: Float = 0.797_884_560_802_865_4
    static let cubic: Float = 0.044_715

    /// out = gelu(inp). Parallel, 16 lanes at a time; `out` may alias `inp`.
    public static func forward(out: UnsafeMutablePointer<Float> /* (count) */,
                               inp: UnsafePointer<Float> /* (count) */,
                               count: Int, kind: Kind = .tanh) {
        Parallel.elementBlocks(count) { lo, hi in
            var i = lo
            while i + 16 <= hi { out.store16(i, value(inp.load16(i), kind)); i += 16 }
            if i < hi { out.storePartial16(i, hi - i, value(inp.loadPartial16(i, hi - i), kind)) }
        }
    }

    /// dinp += gelu'(inp)·dout (accumulates). Parallel, 16 lanes at a time.
    public static func backward(dinp: UnsafeMutablePointer<Float> /* (count) += */,
                                inp: UnsafePointer<Float> /* (count) */,
                                dout: UnsafePointer<Float> /* (count) */,
                                count: Int, kind: Kind = .tanh) {
        Parallel.elementBlocks(count) { lo, hi in
            var i = lo
            while i + 16 <= hi {
                dinp.store16(i, dinp.load16(i).addingProduct(derivative(inp.load16(i), kind), dout.load16(i)))
                i += 16
            }
            if i < hi {
                let n = hi - i
                let d = derivative(inp.loadPartial16(i, n), kind) * dout.loadPartial16(i, n)
                dinp.storePartial16(i, n, dinp.loadPartial16(i, n) + d)
            }
        }
    }

    /// gelu(x) per lane.
    @inline(__always)
    public static func value(_ x: SIMD16<Float>, _ kind: Kind) -> SIMD16<Float> {
        switch kind {
        case .tanh:
            let u = sqrt2OverPi * x.addingProduct(cubic * x * x, x)
            return x * FastMath.sigmoid(u + u)
        case .erf:
            return x * FastMath.normalCDF(x)
        }
    }

    /// gelu'(x) per lane.
    @inline(__always)
    public static func derivative(_ x: SIMD16<Float>, _ kind: Kind) -> SIMD16<Float> {
        switch kind {
        case .tanh:
            let x2 = x * x
            let u = sqrt2OverPi * x.addingProduct(cubic * x2, x)
            let du = sqrt2OverPi * (3 * cubic * x2 + 1)
            let s = FastMath.sigmoid(u + u)
            return s.addingProduct(2 * x * s * (1 - s), du)
        case .erf:
            return FastMath.normalCDF(x).addingProduct(x, FastMath.normalPDF(x))
        }
    }
}
