import Foundation
import Kernels

/// Double-precision reference for `Embedding`: plain loops, for tests and model-level references.
public enum EmbeddingReference {
    /// out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]; returns out (B,T,C).
    public static func forward(tokens: [Int32], wte: [Double], wpe: [Double], B: Int, T: Int, C: Int) -> [Double] {
        var out = [Double](repeating: 0, count: B * T * C)
        for n in 0..<(B * T) {
            let tok = Int(tokens[n]), t = n % T
            for c in 0..<C { out[n * C + c] = wte[tok * C + c] + wpe[t * C + c] }
        }
        return out
    }

    /// Gradients of the forward with respect to wte (V,C) and wpe (P,C), given dout (B,T,C).
    public static func backward(dout: [Double], tokens: [Int32], B: Int, T: Int, C: Int, V: Int, P: Int)
        -> (dwte: [Double], dwpe: [Double]) {
        var dwte = [Double](repeating: 0, count: V * C)
        var dwpe = [Double](repeating: 0, count: P * C)
        for n in 0..<(B * T) {
            let tok = Int(tokens[n]), t = n % T
            for c in 0..<C {
                dwte[tok * C + c] += dout[n * C + c]
                dwpe[t * C + c] += dout[n * C + c]
            }
        }
        return (dwte, dwpe)
    }
}
