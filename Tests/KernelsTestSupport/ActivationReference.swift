import Foundation
import Kernels

/// Double-precision reference for `ReLU`.
public enum ReLUReference {
    /// max(x, 0) for each element.
    public static func forward(_ inp: [Double]) -> [Double] { inp.map { max($0, 0) } }

    /// dinp = dout where inp > 0, else 0.
    public static func backward(inp: [Double], dout: [Double]) -> [Double] { zip(inp, dout).map { $0 > 0 ? $1 : 0 } }
}

/// Double-precision reference for `GatedGELU`, from `GELUReference`.
public enum GatedGELUReference {
    /// gelu(gate) ⊙ linear.
    public static func forward(gate: [Double], linear: [Double], kind: GELU.Kind = .tanh) -> [Double] {
        zip(GELUReference.forward(gate, kind: kind), linear).map(*)
    }

    /// dgate = gelu'(gate)·linear·dout, dlinear = gelu(gate)·dout.
    public static func backward(gate: [Double], linear: [Double], dout: [Double], kind: GELU.Kind = .tanh)
        -> (dgate: [Double], dlinear: [Double]) {
        let scaled = zip(linear, dout).map(*)
        return (GELUReference.backward(inp: gate, dout: scaled, kind: kind), zip(GELUReference.forward(gate, kind: kind), dout).map(*))
    }
}
