/// One named tensor of a parameter table: a row-major range of the flat buffer.
public struct ParameterTensor: Sendable, Equatable {
    /// The family's Hugging Face name, e.g. `transformer.h.3.attn.c_attn.weight` (GPT-2).
    public let name: String
    /// Row-major shape, as Hugging Face stores it (GPT-2 Conv1D (in, out), nn.Linear (out, in)).
    public let shape: [Int]
    /// First element in the flat buffer.
    public let offset: Int
    /// Whether the tensor belongs to a transformer block (`ParameterTableBuilder.addBlocks`), not to the
    /// embeddings, final norms or heads around them.
    public var inBlock = false
    /// Whether AdamW applies weight decay (tensors with ≥ 2 dimensions).
    public var decay: Bool { shape.count >= 2 }
    /// Whether `optimizer.kind: muon` updates it with Muon: a block's weight matrix (embeddings, heads,
    /// norms and biases stay with AdamW, as `torch.optim.Muon`'s documentation asks).
    public var isHiddenMatrix: Bool { inBlock && shape.count == 2 }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// The tensor's range in the flat buffer.
    public var range: Range<Int> { offset..<(offset + count) }
}

/// A table of named tensors laid out in one flat Float buffer: what the optimizer, allreduce buckets and
/// checkpoints need from a model's layout, whichever the architecture (`GPTLayout` for GPT,
/// `BERTLayout` for BERT).
public protocol ParameterTable {
    /// Every tensor, in storage order, covering 0..<count without gaps.
    var tensors: [ParameterTensor] { get }
    /// Total number of Float parameters.
    var count: Int { get }
}

extension ParameterTable {
    /// Tensors that overlap `range`, each with the overlapping part of its own range.
    public func tensors(overlapping range: Range<Int>) -> [(tensor: ParameterTensor, part: Range<Int>)] {
        tensors.compactMap { t in
            let part = t.range.clamped(to: range)
            return part.isEmpty ? nil : (t, part)
        }
    }
}

