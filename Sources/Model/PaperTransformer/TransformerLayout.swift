/// Where every parameter of the paper's Transformer lives in the one flat Float buffer, under the names
/// of a module holding `embedding = nn.Embedding(V, C)` and `transformer = nn.Transformer(...)`.
///
/// Linear weights are `nn.Linear`'s (out, in) with biases. Self- and cross-attention keep
/// `nn.MultiheadAttention`'s fused `in_proj_weight` (3C, C) and `in_proj_bias` (3C): rows q | k | v, which
/// is the block's fused qkv, and for cross-attention its q (the first C rows) followed by its fused kv.
/// The decoder's norm1, norm2, norm3 belong to self-attention, cross-attention and the feed-forward.
///
/// Storage order: `embedding.weight` (V, C) (source and target embedding, and the output projection),
/// encoder layers, `transformer.encoder.norm`, decoder layers, `transformer.decoder.norm`. Backward
/// finishes the ranges from the high end down, in exactly this order reversed.
public struct TransformerLayout: ParameterTable, Sendable, Equatable {
    /// The tensors of a layer, by their names under `transformer.encoder.layers.{l}.` /
    /// `transformer.decoder.layers.{l}.`.
    public enum LayerTensor: String, CaseIterable, Sendable {
        case selfInProjWeight = "self_attn.in_proj_weight", selfInProjBias = "self_attn.in_proj_bias"
        case selfOutWeight = "self_attn.out_proj.weight", selfOutBias = "self_attn.out_proj.bias"
        case crossInProjWeight = "multihead_attn.in_proj_weight", crossInProjBias = "multihead_attn.in_proj_bias"
        case crossOutWeight = "multihead_attn.out_proj.weight", crossOutBias = "multihead_attn.out_proj.bias"
        case linear1Weight = "linear1.weight", linear1Bias = "linear1.bias", linear2Weight = "linear2.weight", linear2Bias = "linear2.bias"
        case norm1Weight = "norm1.weight", norm1Bias = "norm1.bias", norm2Weight = "norm2.weight", norm2Bias = "norm2.bias"
        case norm3Weight = "norm3.weight", norm3Bias = "norm3.bias"

        /// The shape for width C and feed-forward width F.
        func shape(C: Int, F: Int) -> [Int] {
            switch self {
            case .selfInProjWeight, .crossInProjWeight: [3 * C, C]
            case .selfInProjBias, .crossInProjBias: [3 * C]
            case .selfOutWeight, .crossOutWeight: [C, C]
            case .linear1Weight: [F, C]
            case .linear1Bias: [F]
            case .linear2Weight: [C, F]
            case .selfOutBias, .crossOutBias, .linear2Bias, .norm1Weight, .norm1Bias, .norm2Weight, .norm2Bias, .norm3Weight, .norm3Bias: [C]
            }
        }

        /// What the tensor is to `TransformerBlock`, with its offset within the tensor (C: the width):
        /// a fused cross-attention projection is two roles.
        func roles(decoder: Bool, C: Int) -> [(BlockRole, Int)] {
            switch self {
            case .selfInProjWeight: [(.qkvWeight, 0)]
            case .selfInProjBias: [(.qkvBias, 0)]
            case .selfOutWeight: [(.attnOutWeight, 0)]
            case .selfOutBias: [(.attnOutBias, 0)]
            case .crossInProjWeight: [(.crossQWeight, 0), (.crossKVWeight, C * C)]
            case .crossInProjBias: [(.crossQBias, 0), (.crossKVBias, C)]
            case .crossOutWeight: [(.crossOutWeight, 0)]
            case .crossOutBias: [(.crossOutBias, 0)]
            case .linear1Weight: [(.ffnInWeight, 0)]
            case .linear1Bias: [(.ffnInBias, 0)]
            case .linear2Weight: [(.ffnOutWeight, 0)]
            case .linear2Bias: [(.ffnOutBias, 0)]
            case .norm1Weight: [(.norm1Weight, 0)]
            case .norm1Bias: [(.norm1Bias, 0)]
            case .norm2Weight: [(decoder ? .crossNormWeight : .norm2Weight, 0)]
            case .norm2Bias: [(decoder ? .crossNormBias : .norm2Bias, 0)]
            case .norm3Weight: [(.norm2Weight, 0)]
            case .norm3Bias: [(.norm2Bias, 0)]
            }
        }

        /// The tensors of an encoder or a decoder layer, in nn.Transformer's order.
        static func tensors(decoder: Bool) -> [LayerTensor] {
            let attention: [LayerTensor] = [.selfInProjWeight, .selfInProjBias, .selfOutWeight, .selfOutBias]
            let cross: [LayerTensor] = decoder ? [.crossInProjWeight, .crossInProjBias, .crossOutWeight, .crossOutBias] : []
            let norms: [LayerTensor] = [.norm1Weight, .norm1Bias, .norm2Weight, .norm2Bias] + (decoder ? [.norm3Weight, .norm3Bias] : [])
            return attention + cross + [.linear1Weight, .linear1Bias, .linear2Weight, .linear2Bias] + norms
        }
    }

    /// Every tensor, in storage order.
    public let tensors: [ParameterTensor]
    /// Total number of Float parameters.
    public let count: Int
    /// The shared embedding (V, C): source and target tokens, and the output projection.
    public let embedding: Int
    /// The final LayerNorms nn.Transformer adds after each stack: weight (C), then bias (C).
    public let encoderNorm: Int, decoderNorm: Int
    /// The block tables (offsets by role within a layer) of the encoder and the decoder.
    public let encoderBlockTable: BlockTable, decoderBlockTable: BlockTable
    let encoderLayers: BlockPlacement, decoderLayers: BlockPlacement
    private let index: [String: Int]

    /// Builds the table for a model config.
    public init(config: TransformerConfig) {
        let C = config.dModel, F = config.dimFeedforward
        var table = ParameterTableBuilder()
        embedding = table.add("embedding.weight", [config.vocabSize, C])
        let enc = LayerTensor.tensors(decoder: false), dec = LayerTensor.tensors(decoder: true)
        encoderLayers = table.addBlocks(layers: config.numEncoderLayers, shapes: enc.map { $0.shape(C: C, F: F) }) { l, i in
            "transformer.encoder.layers.\(l).\(enc[i].rawValue)"
        }
        encoderNorm = table.add("transformer.encoder.norm.weight", [C])
        table.add("transformer.encoder.norm.bias", [C])
        decoderLayers = table.addBlocks(layers: config.numDecoderLayers, shapes: dec.map { $0.shape(C: C, F: F) }) { l, i in
            "transformer.decoder.layers.\(l).\(dec[i].rawValue)"
        }
        decoderNorm = table.add("transformer.decoder.norm.weight", [C])
        table.add("transformer.decoder.norm.bias", [C])
        (tensors, count, index) = table.finish()
        encoderBlockTable = Self.blockTable(enc, encoderLayers, decoder: false, C: C)
        decoderBlockTable = Self.blockTable(dec, decoderLayers, decoder: true, C: C)
    }

    private static func blockTable(_ tensors: [LayerTensor], _ placement: BlockPlacement, decoder: Bool, C: Int) -> BlockTable {
        BlockTable(tensors.enumerated().flatMap { i, t in t.roles(decoder: decoder, C: C).map { ($0.0, placement.offsets[i] + $0.1) } })
    }

    /// The tensor with this name, or nil.
    public func tensor(named name: String) -> ParameterTensor? { index[name].map { tensors[$0] } }

    /// Offset of encoder / decoder layer `layer`'s first tensor.
    @inline(__always) public func encoderLayerStart(_ layer: Int) -> Int { encoderLayers.starts[layer] }
    @inline(__always) public func decoderLayerStart(_ layer: Int) -> Int { decoderLayers.starts[layer] }

    /// The flat ranges of encoder / decoder layer `layer`.
    public func encoderLayerRange(_ layer: Int) -> Range<Int> { encoderLayers.range(layer) }
    public func decoderLayerRange(_ layer: Int) -> Range<Int> { decoderLayers.range(layer) }

    /// The embedding's range (the low end of the buffer).
    public var embeddingRange: Range<Int> { embedding..<encoderLayers.starts.first! }
    /// The encoder's final norm.
    public var encoderNormRange: Range<Int> { encoderNorm..<(encoderNorm + count - decoderNorm) }
    /// The decoder's final norm (the high end of the buffer).
    public var decoderNormRange: Range<Int> { decoderNorm..<count }
}
