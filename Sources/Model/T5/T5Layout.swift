/// Where every T5 parameter lives in the one flat Float buffer, under Hugging Face
/// `T5ForConditionalGeneration`'s names and shapes.
///
/// Linear weights are `nn.Linear`'s (out, in) with no biases; a block's q, k and v (and the
/// cross-attention's k and v) are stored one after another, so they form one fused weight as the
/// shared `TransformerBlock` reads it. The relative position bias table (buckets, NH) of each stack
/// belongs to its first block in Hugging Face's names but is stored before the stack's blocks, so
/// every block of a stack has the same tensors.
///
/// Storage order: `shared.weight` (V, C), the encoder's position bias, encoder blocks, the encoder's
/// final norm, the decoder's position bias, decoder blocks, the decoder's final norm, then `lm_head`
/// (V, C) when the embeddings are untied. Backward finishes the ranges from the high end down, in
/// exactly this order reversed.
public struct T5Layout: ParameterTable, Sendable, Equatable {
    /// The tensors a T5 block may have, by what they are.
    public enum BlockTensor: Int, CaseIterable, Sendable {
        case selfQ, selfK, selfV, selfO, selfNorm
        case crossQ, crossK, crossV, crossO, crossNorm
        case wi, wi0, wi1, wo, ffnNorm

        /// The name under `encoder.block.{i}.` / `decoder.block.{i}.`.
        public func hfSuffix(decoder: Bool) -> String {
            let f = decoder ? 2 : 1
            switch self {
            case .selfQ: return "layer.0.SelfAttention.q.weight"
            case .selfK: return "layer.0.SelfAttention.k.weight"
            case .selfV: return "layer.0.SelfAttention.v.weight"
            case .selfO: return "layer.0.SelfAttention.o.weight"
            case .selfNorm: return "layer.0.layer_norm.weight"
            case .crossQ: return "layer.1.EncDecAttention.q.weight"
            case .crossK: return "layer.1.EncDecAttention.k.weight"
            case .crossV: return "layer.1.EncDecAttention.v.weight"
            case .crossO: return "layer.1.EncDecAttention.o.weight"
            case .crossNorm: return "layer.1.layer_norm.weight"
            case .wi: return "layer.\(f).DenseReluDense.wi.weight"
            case .wi0: return "layer.\(f).DenseReluDense.wi_0.weight"
            case .wi1: return "layer.\(f).DenseReluDense.wi_1.weight"
            case .wo: return "layer.\(f).DenseReluDense.wo.weight"
            case .ffnNorm: return "layer.\(f).layer_norm.weight"
            }
        }

        /// What the tensor is to `TransformerBlock`; nil for the parts of a fused weight after its first.
        public var role: BlockRole? {
            switch self {
            case .selfQ: .qkvWeight
            case .selfK, .selfV, .crossV: nil
            case .selfO: .attnOutWeight
            case .selfNorm: .norm1Weight
            case .crossQ: .crossQWeight
            case .crossK: .crossKVWeight
            case .crossO: .crossOutWeight
            case .crossNorm: .crossNormWeight
            case .wi, .wi0: .ffnInWeight
            case .wi1: .ffnLinearWeight
            case .wo: .ffnOutWeight
            case .ffnNorm: .norm2Weight
            }
        }

        /// The (out, in) shape for width C, attention width D and feed-forward width F.
        public func shape(C: Int, D: Int, F: Int) -> [Int] {
            switch self {
            case .selfQ, .selfK, .selfV, .crossQ, .crossK, .crossV: [D, C]
            case .selfO, .crossO: [C, D]
            case .wi, .wi0, .wi1: [F, C]
            case .wo: [C, F]
            case .selfNorm, .crossNorm, .ffnNorm: [C]
            }
        }

        /// The tensors of an encoder or decoder block of `config`, in storage order.
        public static func tensors(decoder: Bool, _ config: T5Config) -> [BlockTensor] {
            let ffn: [BlockTensor] = config.feedForward == .relu ? [.wi] : [.wi0, .wi1]
            let cross: [BlockTensor] = decoder ? [.crossQ, .crossK, .crossV, .crossO, .crossNorm] : []
            return [.selfQ, .selfK, .selfV, .selfO, .selfNorm] + cross + ffn + [.wo, .ffnNorm]
        }
    }

    /// Every tensor, in storage order.
    public let tensors: [ParameterTensor]
    /// Total number of Float parameters.
    public let count: Int
    /// The shared token embedding (V, C), also the LM head when tied.
    public let shared: Int
    /// The relative position bias tables (buckets, NH) of the encoder and the decoder.
    public let encoderRelativeBias: Int, decoderRelativeBias: Int
    /// The final RMS norm weights (C).
    public let encoderFinalNorm: Int, decoderFinalNorm: Int
    /// The untied LM head (V, C); nil when tied.
    public let lmHead: Int?
    let encoderBlocks: BlockPlacement, decoderBlocks: BlockPlacement
    let encoderTensors: [BlockTensor], decoderTensors: [BlockTensor]
    private let index: [String: Int]

    /// Builds the table for a model config.
    public init(config: T5Config) {
        let C = config.dModel, D = config.attentionWidth, F = config.dFF, V = config.vocabSize
        let bias = [config.relativeAttentionNumBuckets, config.numHeads]
        var table = ParameterTableBuilder()
        shared = table.add("shared.weight", [V, C])
        encoderTensors = BlockTensor.tensors(decoder: false, config)
        decoderTensors = BlockTensor.tensors(decoder: true, config)
        encoderRelativeBias = table.add("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", bias)
        let enc = encoderTensors, dec = decoderTensors
        encoderBlocks = table.addBlocks(layers: config.numLayers, shapes: enc.map { $0.shape(C: C, D: D, F: F) }) { l, i in
            "encoder.block.\(l).\(enc[i].hfSuffix(decoder: false))"
        }
        encoderFinalNorm = table.add("encoder.final_layer_norm.weight", [C])
        decoderRelativeBias = table.add("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", bias)
        decoderBlocks = table.addBlocks(layers: config.numDecoderLayers, shapes: dec.map { $0.shape(C: C, D: D, F: F) }) { l, i in
            "decoder.block.\(l).\(dec[i].hfSuffix(decoder: true))"
        }
        decoderFinalNorm = table.add("decoder.final_layer_norm.weight", [C])
        lmHead = config.tieWordEmbeddings ? nil : table.add("lm_head.weight", [V, C])
        (tensors, count, index) = table.finish()
    }

    /// The tensor with this name, or nil.
    public func tensor(named name: String) -> ParameterTensor? { index[name].map { tensors[$0] } }

    /// The weight the logits are computed with: `lm_head` when untied, else the shared embedding.
    public var headWeight: Int { lmHead ?? shared }

    /// The block tables (offsets by role within a block) of the encoder and the decoder.
    public var encoderBlockTable: BlockTable { Self.blockTable(encoderTensors, encoderBlocks) }
    public var decoderBlockTable: BlockTable { Self.blockTable(decoderTensors, decoderBlocks) }

    private static func blockTable(_ tensors: [BlockTensor], _ placement: BlockPlacement) -> BlockTable {
        BlockTable(tensors.enumerated().compactMap { i, t in t.role.map { ($0, placement.offsets[i]) } })
    }

    /// Offset of encoder / decoder block `layer`'s first tensor.
    @inline(__always) public func encoderBlockStart(_ layer: Int) -> Int { encoderBlocks.starts[layer] }
    @inline(__always) public func decoderBlockStart(_ layer: Int) -> Int { decoderBlocks.starts[layer] }

    /// The flat ranges of encoder / decoder block `layer`.
    public func encoderBlockRange(_ layer: Int) -> Range<Int> { encoderBlocks.range(layer) }
    public func decoderBlockRange(_ layer: Int) -> Range<Int> { decoderBlocks.range(layer) }

    /// The shared embedding's range (the low end of the buffer).
    public var sharedRange: Range<Int> { shared..<encoderRelativeBias }
    /// The encoder's position bias table.
    public var encoderRelativeBiasRange: Range<Int> { encoderRelativeBias..<encoderBlocks.starts[0] }
    /// The encoder's final norm.
    public var encoderFinalNormRange: Range<Int> { encoderFinalNorm..<decoderRelativeBias }
    /// The decoder's position bias table.
    public var decoderRelativeBiasRange: Range<Int> { decoderRelativeBias..<decoderBlocks.starts[0] }
    /// The decoder's final norm and the untied LM head (the high end of the buffer).
    public var headRange: Range<Int> { decoderFinalNorm..<count }
}
