import Foundation
import Kernels

/// Double-precision reference for `GELU`, written from the textbook formulas with libm tanh/erf.
public enum GELUReference {
    /// gelu(x) for each element.
    public static func forward(_ inp: [Double], kind: GELU.Kind = .tanh) -> [Double] {
        inp.map { x in
            switch kind {
            case .tanh: return 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
            case .erf: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
            }
        }
    }

    /// dinp = gelu'(inp)·dout for each element.
    public static func backward(inp: [Double], dout: [Double], kind: GELU.Kind = .tanh) -> [Double] {
        zip(inp, dout).map { x, g in
            switch kind {
            case .tanh:
                let k = (2 / Double.pi).squareRoot()
                let th = Foundation.tanh(k * (x + 0.044715 * x * x * x))
                return g * (0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x))
            case .erf:
                let cdf = 0.5 * (1 + Foundation.erf(x / 2.0.squareRoot()))
                let pdf = Foundation.exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
                return g * (cdf + x * pdf)
            }
        }
    }
}
