/// Where every BERT parameter lives in the one flat Float buffer, under Hugging Face BERT's names.
///
/// Tensors keep Hugging Face's names and shapes, so `BertForMaskedLM` / `BertForPreTraining` weights
/// copy in and out by name with no transposes: linear weights are `nn.Linear`'s (out, in), and the model
/// multiplies by their transpose (`Linear.forwardTransposed`). Within a block the query, key and value
/// weights are stored one after another, then their three biases, so together they form one fused
/// (3C, C) weight and (3C) bias whose product is the q | k | v buffer `Attention` reads.
///
/// Storage order: embeddings, blocks 0..<L, (pre-LN) the final LayerNorm, (NSP or classifier) the
/// pooler, the MLM head (not in a classifier), then the sequence head on [CLS]: NSP's
/// `cls.seq_relationship` (2, C) or a classifier's `classifier` (K, C). The MLM decoder is tied to the word embeddings (no tensor of its
/// own); its bias is `cls.predictions.bias`. Gradients and optimizer moments use the same layout.
public struct BERTLayout: ParameterTable, Sendable, Equatable {
    /// The tensors of one encoder block, in storage order.
    public enum BlockTensor: Int, CaseIterable, Sendable {
        case queryWeight, keyWeight, valueWeight, queryBias, keyBias, valueBias
        case attnOutWeight, attnOutBias, attnLNWeight, attnLNBias
        case interWeight, interBias, outWeight, outBias, outLNWeight, outLNBias

        /// The name under `bert.encoder.layer.{i}.` in Hugging Face BERT. With pre-LN,
        /// `attention.output.LayerNorm` normalises the attention input and `output.LayerNorm` the
        /// feed-forward input.
        public var hfSuffix: String {
            switch self {
            case .queryWeight: "attention.self.query.weight"
            case .keyWeight: "attention.self.key.weight"
            case .valueWeight: "attention.self.value.weight"
            case .queryBias: "attention.self.query.bias"
            case .keyBias: "attention.self.key.bias"
            case .valueBias: "attention.self.value.bias"
            case .attnOutWeight: "attention.output.dense.weight"
            case .attnOutBias: "attention.output.dense.bias"
            case .attnLNWeight: "attention.output.LayerNorm.weight"
            case .attnLNBias: "attention.output.LayerNorm.bias"
            case .interWeight: "intermediate.dense.weight"
            case .interBias: "intermediate.dense.bias"
            case .outWeight: "output.dense.weight"
            case .outBias: "output.dense.bias"
            case .outLNWeight: "output.LayerNorm.weight"
            case .outLNBias: "output.LayerNorm.bias"
            }
        }

        /// What the tensor is to `TransformerBlock`; nil for key and value, which are part of the fused
        /// (3C, C) qkv weight (bias) that starts at the query's.
        public var role: BlockRole? {
            switch self {
            case .queryWeight: .qkvWeight
            case .queryBias: .qkvBias
            case .keyWeight, .valueWeight, .keyBias, .valueBias: nil
            case .attnOutWeight: .attnOutWeight
            case .attnOutBias: .attnOutBias
            case .attnLNWeight: .norm1Weight
            case .attnLNBias: .norm1Bias
            case .interWeight: .ffnInWeight
            case .interBias: .ffnInBias
            case .outWeight: .ffnOutWeight
            case .outBias: .ffnOutBias
            case .outLNWeight: .norm2Weight
            case .outLNBias: .norm2Bias
            }
        }

        /// The (HF) shape for width C and feed-forward width I.
        public func shape(C: Int, I: Int) -> [Int] {
            switch self {
            case .queryWeight, .keyWeight, .valueWeight, .attnOutWeight: [C, C]
            case .interWeight: [I, C]
            case .outWeight: [C, I]
            case .interBias: [I]
            default: [C]
            }
        }
    }

    /// Every tensor, in storage order.
    public let tensors: [ParameterTensor]
    /// Total number of Float parameters.
    public let count: Int
    /// Offsets of the embedding tensors.
    public let wordEmbeddings: Int, positionEmbeddings: Int, tokenTypeEmbeddings: Int
    public let embLNWeight: Int, embLNBias: Int
    /// The final LayerNorm of pre-LN models; nil for post-LN.
    public let finalLNWeight: Int?, finalLNBias: Int?
    /// The pooler and the sequence head (NSP or classifier; nil without one).
    public let poolerWeight: Int?, poolerBias: Int?, sequenceWeight: Int?, sequenceBias: Int?
    /// The MLM head: transform dense, its LayerNorm, and the decoder's output bias (0 in a classifier,
    /// which has none; see `BERTConfig.hasMLMHead`).
    public let transformWeight: Int, transformBias: Int, transformLNWeight: Int, transformLNBias: Int, decoderBias: Int
    /// Where the blocks sit: each one's first element and each tensor's offset within a block.
    let blocks: BlockPlacement
    /// Where the part after the blocks (final LN, pooler, heads) starts.
    public let headStart: Int
    private let index: [String: Int]

    /// Builds the table for a model config.
    public init(config: BERTConfig) {
        let C = config.dModel, I = config.intermediateSize, V = config.vocabSize
        var table = ParameterTableBuilder()
        wordEmbeddings = table.add("bert.embeddings.word_embeddings.weight", [V, C])
        positionEmbeddings = table.add("bert.embeddings.position_embeddings.weight", [config.maxSeqLen, C])
        tokenTypeEmbeddings = table.add("bert.embeddings.token_type_embeddings.weight", [config.typeVocabSize, C])
        embLNWeight = table.add("bert.embeddings.LayerNorm.weight", [C])
        embLNBias = table.add("bert.embeddings.LayerNorm.bias", [C])
        let block = BlockTensor.allCases
        blocks = table.addBlocks(layers: config.nLayer, shapes: block.map { $0.shape(C: C, I: I) }) { l, i in
            "bert.encoder.layer.\(l).\(block[i].hfSuffix)"
        }
        headStart = table.offset
        if config.norm == .pre {
            finalLNWeight = table.add("bert.encoder.LayerNorm.weight", [C])
            finalLNBias = table.add("bert.encoder.LayerNorm.bias", [C])
        } else {
            finalLNWeight = nil; finalLNBias = nil
        }
        if config.sequenceLabels > 0 {
            poolerWeight = table.add("bert.pooler.dense.weight", [C, C])
            poolerBias = table.add("bert.pooler.dense.bias", [C])
        } else {
            poolerWeight = nil; poolerBias = nil
        }
        if config.hasMLMHead {
            transformWeight = table.add("cls.predictions.transform.dense.weight", [C, C])
            transformBias = table.add("cls.predictions.transform.dense.bias", [C])
            transformLNWeight = table.add("cls.predictions.transform.LayerNorm.weight", [C])
            transformLNBias = table.add("cls.predictions.transform.LayerNorm.bias", [C])
            decoderBias = table.add("cls.predictions.bias", [V])
        } else {
            transformWeight = 0; transformBias = 0; transformLNWeight = 0; transformLNBias = 0; decoderBias = 0
        }
        let K = config.sequenceLabels
        if K > 0 {
            let name = config.numLabels > 0 ? "classifier" : "cls.seq_relationship"
            sequenceWeight = table.add(name + ".weight", [K, C])
            sequenceBias = table.add(name + ".bias", [K])
        } else {
            sequenceWeight = nil; sequenceBias = nil
        }
        (tensors, count, index) = table.finish()
    }

    /// The tensor with this name, or nil.
    public func tensor(named name: String) -> ParameterTensor? { index[name].map { tensors[$0] } }

    /// Elements in one block.
    public var blockCount: Int { blocks.count }

    /// Offset of `tensor` in block `layer`.
    @inline(__always)
    public func offset(layer: Int, _ tensor: BlockTensor) -> Int { blocks.starts[layer] + blocks.offsets[tensor.rawValue] }

    /// The block's tensors by role, offsets within a block (for `TransformerBlock`).
    public var blockTable: BlockTable {
        BlockTable(BlockTensor.allCases.compactMap { t in t.role.map { ($0, blocks.offsets[t.rawValue]) } })
    }

    /// Offset of block `layer`'s first tensor.
    @inline(__always)
    public func blockStart(_ layer: Int) -> Int { blocks.starts[layer] }

    /// The flat range holding all of block `layer`.
    public func blockRange(_ layer: Int) -> Range<Int> { blocks.range(layer) }

    /// The embedding tables and their LayerNorm (the low end of the buffer).
    public var embeddingRange: Range<Int> { 0..<(embLNBias + (embLNBias - embLNWeight)) }

    /// Everything after the blocks: final LayerNorm, pooler and heads (the high end of the buffer).
    public var headRange: Range<Int> { headStart..<count }
}
