import Foundation
import Kernels

/// Double-precision reference for `Dropout` given a mask (the mask itself is checked in DropoutTests
/// against an independent scalar implementation of the hash).
public enum DropoutReference {
    /// out = inp·mask/(1 − p).
    public static func forward(inp: [Double], mask: [UInt8], p: Double) -> [Double] {
        zip(inp, mask).map { x, k in k != 0 ? x / (1 - p) : 0 }
    }

    /// dinp = dout·mask/(1 − p).
    public static func backward(dout: [Double], mask: [UInt8], p: Double) -> [Double] {
        forward(inp: dout, mask: mask, p: p)
    }
}
