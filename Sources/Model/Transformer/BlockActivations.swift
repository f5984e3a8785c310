import Foundation
import Support

/// The saved activations of every block and the backward scratch they share, allocated once for the
/// largest batch.
///
/// Shapes: L layers, B batch, T time, Tk the other sequence's length (cross-attention), C width,
/// NH heads, D = NH·hs, I feed-forward width, N = B·T, Nk = B·Tk. Each layer has one set of
/// `Region`s; a smaller batch uses the front of each region. Backward scratch (`Scratch`) is shared
/// by all layers: only one layer's backward is live at a time.
///
/// Per sublayer s (self-attention, cross-attention, feed-forward) with input x:
///   pre-norm:  norm_s = norm(x), residual_s = x + f(norm_s), output residual_s
///   post-norm: residual_s = x + f(x), norm_s = norm(residual_s), output norm_s
///
/// Mixed precision (`operandBytes` set: the bf16 path's element size) keeps the regions that only feed
/// linear layers (`Region.isOperand`: the attention outputs and pre-norm's norm outputs) as the
/// rounded operands those layers multiply, 2 bytes an element on the native path, so no fp32 copy of
/// them is kept; and it keeps no feed-forward activation output at all (`recomputesActivation`:
/// backward recomputes it from the saved input, the same numbers).
public final class BlockActivations {
    /// Per-layer saved activations, in storage order.
    public enum Region: Int, CaseIterable {
        case attnNorm, attnMean, attnRstd, qkv, atty, att, attDropped, attnResidual
        case crossNorm, crossMean, crossRstd, crossQ, crossKV, crossY, crossAtt, crossAttDropped, crossResidual
        case ffnNorm, ffnMean, ffnRstd, fch, fchLinear, fchAct, ffnResidual

        /// Whether the region is read only as a linear layer's input (so may be kept rounded).
        func isOperand(_ c: BlockConfig) -> Bool {
            switch self {
            case .atty, .crossY: true
            case .attnNorm, .crossNorm, .ffnNorm: c.placement == .pre
            default: false
            }
        }

        /// Floats the region takes: its elements, or the room for them as rounded operands of
        /// `operandBytes` bytes each.
        func floats(_ c: BlockConfig, B: Int, T: Int, Tk: Int, operandBytes: Int?) -> Int {
            let n = count(c, B: B, T: T, Tk: Tk)
            if self == .fchAct, operandBytes != nil { return 0 }
            guard let bytes = operandBytes, isOperand(c) else { return n }
            return (n * bytes + 3) / 4
        }

        func count(_ c: BlockConfig, B: Int, T: Int, Tk: Int) -> Int {
            let N = B * T, C = c.C, D = c.D, cross = c.crossAttention ? 1 : 0, dropping = c.attentionDropout > 0 ? 1 : 0
            switch self {
            case .attnMean, .attnRstd, .ffnMean, .ffnRstd: return N
            case .qkv: return N * 3 * D
            case .atty: return N * D
            case .att: return B * c.NH * T * T
            case .attDropped: return dropping * B * c.NH * T * T
            case .attnNorm, .attnResidual, .ffnNorm, .ffnResidual: return N * C
            case .crossMean, .crossRstd: return cross * N
            case .crossNorm, .crossResidual: return cross * N * C
            case .crossQ, .crossY: return cross * N * D
            case .crossKV: return cross * B * Tk * 2 * D
            case .crossAtt: return cross * B * c.NH * T * Tk
            case .crossAttDropped: return cross * dropping * B * c.NH * T * Tk
            case .fch, .fchAct: return N * c.I
            case .fchLinear: return c.gated ? N * c.I : 0
            }
        }
    }

    /// Backward scratch shared by all layers.
    public enum Scratch: Int, CaseIterable {
        case dQKV, dAttY, dScores, dFch, dFchLinear, dFchAct, dBranch, dCrossQ, dCrossKV

        func count(_ c: BlockConfig, B: Int, T: Int, Tk: Int) -> Int {
            let N = B * T, cross = c.crossAttention ? 1 : 0
            switch self {
            case .dQKV: return N * 3 * c.D
            case .dAttY: return N * c.D
            case .dScores: return B * c.NH * T * max(T, cross * Tk)
            case .dFch, .dFchAct: return N * c.I
            case .dFchLinear: return c.gated ? N * c.I : 0
            case .dBranch: return N * c.C
            case .dCrossQ: return cross * N * c.D
            case .dCrossKV: return cross * B * Tk * 2 * c.D
            }
        }
    }

    /// The largest batch, sequence length and other-sequence length these buffers hold.
    public let B: Int, T: Int, Tk: Int
    /// Bytes per element of the operand regions (`Region.isOperand`), or nil: all fp32.
    public let operandBytes: Int?
    private let config: BlockConfig
    let storage: FlatBuffer
    private let regionOffsets: [Int], scratchOffsets: [Int]
    private let layerStride: Int
    /// Residual-dropout keep-masks: per layer one (B, T, C) byte block per sublayer (self, cross, ffn).
    private let masks: UnsafeMutablePointer<UInt8>
    private let maskStride: Int
    /// Feed-forward activation dropout keep-masks: per layer one (B, T, I) byte block (when `ffnDropout` > 0).
    private let ffnMasks: UnsafeMutablePointer<UInt8>
    private let ffnMaskStride: Int

    /// Allocates what `layers` blocks of `config` need for batches up to (B, T), other sequence up to Tk;
    /// with `operandBytes` (the bf16 path's element size) the operand regions hold rounded operands.
    public init(config: BlockConfig, layers: Int, B: Int, T: Int, Tk: Int = 0, operandBytes: Int? = nil) throws {
        self.B = B; self.T = T; self.Tk = Tk
        self.operandBytes = operandBytes
        self.config = config
        var offsets: [Int] = [], running = 0
        for region in Region.allCases {
            offsets.append(running)
            running += Self.align(region.floats(config, B: B, T: T, Tk: Tk, operandBytes: operandBytes))
        }
        regionOffsets = offsets
        layerStride = running
        running *= layers
        var scratch: [Int] = []
        for region in Scratch.allCases {
            scratch.append(running)
            running += Self.align(region.count(config, B: B, T: T, Tk: Tk))
        }
        scratchOffsets = scratch
        storage = try FlatBuffer(count: running)
        maskStride = config.residualDropout > 0 ? B * T * config.C : 0
        let maskCount = max(1, maskStride * 3 * layers)
        masks = try AllocationError.allocate(filling: 1, count: maskCount)
        ffnMaskStride = Self.ffnMaskStride(config, B: B, T: T)
        ffnMasks = try AllocationError.allocate(filling: 1, count: max(1, ffnMaskStride * layers))
    }

    /// Bytes of one layer's feed-forward dropout mask.
    private static func ffnMaskStride(_ config: BlockConfig, B: Int, T: Int) -> Int { config.ffnDropout > 0 ? B * T * config.I : 0 }

    /// Floats (activations and scratch) and mask bytes that `init(config:layers:B:T:Tk:)` allocates,
    /// computed without allocating (memory plans).
    public static func size(config: BlockConfig, layers: Int, B: Int, T: Int, Tk: Int = 0,
                            operandBytes: Int? = nil) -> (floats: Int, maskBytes: Int) {
        let perLayer = Region.allCases.reduce(0) { $0 + align($1.floats(config, B: B, T: T, Tk: Tk, operandBytes: operandBytes)) }
        let scratch = Scratch.allCases.reduce(0) { $0 + align($1.count(config, B: B, T: T, Tk: Tk)) }
        return (layers * perLayer + scratch, max(1, (config.residualDropout > 0 ? B * T * config.C : 0) * 3 * layers)
                    + max(1, ffnMaskStride(config, B: B, T: T) * layers))
    }

    deinit { free(masks); free(ffnMasks) }

    /// Rounds a count up to 16 Floats so every region starts 64-byte aligned.
    static func align(_ n: Int) -> Int { (n + 15) & ~15 }

    /// Floats allocated for activations and scratch.
    public var floatCount: Int { storage.count }

    /// Start of a per-layer region.
    @inline(__always)
    public func pointer(_ region: Region, layer: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + layer * layerStride + regionOffsets[region.rawValue]
    }

    /// The rounded operand a linear layer reads from `region` of `layer`, or nil when the region holds
    /// fp32 (no `operandBytes`, or not an operand region).
    @inline(__always)
    public func operand(_ region: Region, layer: Int) -> UnsafeMutableRawPointer? {
        guard operandBytes != nil, region.isOperand(config) else { return nil }
        return UnsafeMutableRawPointer(pointer(region, layer: layer))
    }

    /// Whether the feed-forward activation output is not kept (mixed precision): forward writes it
    /// into the `dFchAct` scratch, backward recomputes it into `dFch`.
    public var recomputesActivation: Bool { operandBytes != nil }

    /// Start of a scratch region.
    @inline(__always)
    public func pointer(_ region: Scratch) -> UnsafeMutablePointer<Float> {
        storage.pointer + scratchOffsets[region.rawValue]
    }

    /// The residual-dropout keep-mask of sublayer `sublayer` (0 self, 1 cross, 2 ffn) of layer `layer`.
    @inline(__always)
    func mask(layer: Int, sublayer: Int) -> UnsafeMutablePointer<UInt8> { masks + (3 * layer + sublayer) * maskStride }

    /// The feed-forward activation dropout keep-mask of layer `layer` (B, T, I).
    @inline(__always)
    func ffnMask(layer: Int) -> UnsafeMutablePointer<UInt8> { ffnMasks + layer * ffnMaskStride }
}
