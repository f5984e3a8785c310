/// A table of named tensors laid out in one flat Float buffer: what the optimizer, allreduce buckets and
/// checkpoints need from a model's layout, whichever the architecture (`ParameterLayout` for GPT,
/// `BERTLayout` for BERT).
public protocol ParameterTable {
    /// Every tensor, in storage order, covering 0..<count without gaps.
    var tensors: [ParameterLayout.Tensor] { get }
    /// Total number of Float parameters.
    var count: Int { get }
}

extension ParameterTable {
    /// Tensors that overlap `range`, each with the overlapping part of its own range.
    public func tensors(overlapping range: Range<Int>) -> [(tensor: ParameterLayout.Tensor, part: Range<Int>)] {
        tensors.compactMap { t in
            let part = t.range.clamped(to: range)
            return part.isEmpty ? nil : (t, part)
        }
    }
}

extension ParameterLayout: ParameterTable {}
