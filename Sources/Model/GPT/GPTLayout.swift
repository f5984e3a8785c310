/// Where every parameter lives in the one flat Float buffer.
///
/// The table is derived from the config in one place (`init(config:)`): names (Hugging Face GPT-2
/// names, so weights interoperate), shapes, offsets and the weight-decay flag. Gradients and the AdamW
/// moments use the identical layout, so allreduce buckets, optimizer shards and checkpoint shards are
/// all plain ranges of it. Blocks are stored one after another, so the gradients of the last block —
/// the first to be finished by backward — form the high end of the buffer.
public struct GPTLayout: ParameterTable, Sendable, Equatable {
    /// The tensors of one transformer block, in storage order.
    public enum BlockTensor: Int, CaseIterable, Sendable {
        case ln1Weight, ln1Bias, qkvWeight, qkvBias, attnProjWeight, attnProjBias
        case ln2Weight, ln2Bias, fcWeight, fcBias, fcProjWeight, fcProjBias

        /// The name under `transformer.h.{i}.` in Hugging Face GPT-2.
        public var hfSuffix: String {
            switch self {
            case .ln1Weight: "ln_1.weight"
            case .ln1Bias: "ln_1.bias"
            case .qkvWeight: "attn.c_attn.weight"
            case .qkvBias: "attn.c_attn.bias"
            case .attnProjWeight: "attn.c_proj.weight"
            case .attnProjBias: "attn.c_proj.bias"
            case .ln2Weight: "ln_2.weight"
            case .ln2Bias: "ln_2.bias"
            case .fcWeight: "mlp.c_fc.weight"
            case .fcBias: "mlp.c_fc.bias"
            case .fcProjWeight: "mlp.c_proj.weight"
            case .fcProjBias: "mlp.c_proj.bias"
            }
        }

        /// What the tensor is to `TransformerBlock`.
        public var role: BlockRole {
            switch self {
            case .ln1Weight: .norm1Weight
            case .ln1Bias: .norm1Bias
            case .qkvWeight: .qkvWeight
            case .qkvBias: .qkvBias
            case .attnProjWeight: .attnOutWeight
            case .attnProjBias: .attnOutBias
            case .ln2Weight: .norm2Weight
            case .ln2Bias: .norm2Bias
            case .fcWeight: .ffnInWeight
            case .fcBias: .ffnInBias
            case .fcProjWeight: .ffnOutWeight
            case .fcProjBias: .ffnOutBias
            }
        }

        /// The shape for model width C.
        public func shape(_ C: Int) -> [Int] {
            switch self {
            case .ln1Weight, .ln1Bias, .ln2Weight, .ln2Bias, .attnProjBias, .fcProjBias: [C]
            case .qkvWeight: [C, 3 * C]
            case .qkvBias: [3 * C]
            case .attnProjWeight: [C, C]
            case .fcWeight: [C, 4 * C]
            case .fcBias: [4 * C]
            case .fcProjWeight: [4 * C, C]
            }
        }
    }

    /// Every tensor, in storage order.
    public let tensors: [ParameterTensor]
    /// Total number of Float parameters.
    public let count: Int
    /// Offsets of the tensors outside the blocks.
    public let wte: Int, wpe: Int?, lnfWeight: Int, lnfBias: Int
    /// Offset of the classifier head `score.weight` (K, C), present when `GPTConfig.numLabels` K > 0.
    public let score: Int?
    /// Where the blocks sit: each one's first element and each tensor's offset within a block.
    let blocks: BlockPlacement
    private let index: [String: Int]

    /// Builds the table for a model config.
    public init(config: GPTConfig) {
        let C = config.dModel
        var table = ParameterTableBuilder()
        wte = table.add("transformer.wte.weight", [config.vocabSize, C])
        wpe = config.positions == .learned ? table.add("transformer.wpe.weight", [config.maxSeqLen, C]) : nil
        let block = BlockTensor.allCases
        blocks = table.addBlocks(layers: config.nLayer, shapes: block.map { $0.shape(C) }) { l, i in
            "transformer.h.\(l).\(block[i].hfSuffix)"
        }
        lnfWeight = table.add("transformer.ln_f.weight", [C])
        lnfBias = table.add("transformer.ln_f.bias", [C])
        score = config.numLabels > 0 ? table.add("score.weight", [config.numLabels, C]) : nil
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
    public var blockTable: BlockTable { BlockTable(BlockTensor.allCases.map { ($0.role, blocks.offsets[$0.rawValue]) }) }

    /// Offset of block `layer`'s first tensor.
    @inline(__always)
    public func blockStart(_ layer: Int) -> Int { blocks.starts[layer] }

    /// The final LayerNorm and the classifier head when there is one: the range backward finishes first.
    public var headRange: Range<Int> { lnfWeight..<count }

    /// The flat range holding all of block `layer`.
    public func blockRange(_ layer: Int) -> Range<Int> { blocks.range(layer) }
}
