import Foundation
import Kernels

/// Double-precision reference for `Linear`: plain triple loops.
public enum LinearReference {
    /// out (N,OC) = inp (N,IC) · weight (IC,OC) + bias (OC, optional).
    public static func forward(inp: [Double], weight: [Double], bias: [Double]?, N: Int, IC: Int, OC: Int) -> [Double] {
        var out = [Double](repeating: 0, count: N * OC)
        for n in 0..<N {
            for o in 0..<OC {
                var s = bias?[o] ?? 0
                for i in 0..<IC { s += inp[n * IC + i] * weight[i * OC + o] }
                out[n * OC + o] = s
            }
        }
        return out
    }

    /// Returns dinp (N,IC), dweight (IC,OC), dbias (OC).
    public static func backward(dout: [Double], inp: [Double], weight: [Double], N: Int, IC: Int, OC: Int)
        -> (dinp: [Double], dweight: [Double], dbias: [Double]) {
        var dinp = [Double](repeating: 0, count: N * IC)
        var dweight = [Double](repeating: 0, count: IC * OC), dbias = [Double](repeating: 0, count: OC)
        for n in 0..<N {
            for o in 0..<OC {
                let g = dout[n * OC + o]
                dbias[o] += g
                for i in 0..<IC {
                    dinp[n * IC + i] += g * weight[i * OC + o]
                    dweight[i * OC + o] += g * inp[n * IC + i]
                }
            }
        }
        return (dinp, dweight, dbias)
    }

    /// out (N,OC) = inp (N,IC) · weightᵀ, weight stored (OC,IC).
    public static func forwardTransposed(inp: [Double], weight: [Double], N: Int, IC: Int, OC: Int) -> [Double] {
        var out = [Double](repeating: 0, count: N * OC)
        for n in 0..<N {
            for o in 0..<OC {
                var s = 0.0
                for i in 0..<IC { s += inp[n * IC + i] * weight[o * IC + i] }
                out[n * OC + o] = s
            }
        }
        return out
    }

    /// Returns dinp (N,IC) and dweight (OC,IC) for `forwardTransposed`.
    public static func backwardTransposed(dout: [Double], inp: [Double], weight: [Double], N: Int, IC: Int, OC: Int)
        -> (dinp: [Double], dweight: [Double]) {
        var dinp = [Double](repeating: 0, count: N * IC), dweight = [Double](repeating: 0, count: OC * IC)
        for n in 0..<N {
            for o in 0..<OC {
                let g = dout[n * OC + o]
                for i in 0..<IC {
                    dinp[n * IC + i] += g * weight[o * IC + i]
                    dweight[o * IC + i] += g * inp[n * IC + i]
                }
            }
        }
        return (dinp, dweight)
    }
}
