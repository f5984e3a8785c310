/// How `pretrain predict --task feature-extraction` turns the last hidden state into its output.
public enum FeaturePooling: String, CaseIterable {
    /// Every token's vector ([CLS] and [SEP] included), as Hugging Face's feature-extraction pipeline.
    case none
    /// The mean over the tokens, as sentence-transformers' `Pooling(pooling_mode_mean_tokens=True)`.
    case mean
    /// The [CLS] token's vector.
    case cls

    /// One vector per text (mean or cls) from the (T, C) hidden states at `hidden`, or T vectors (none);
    /// with `normalize` each vector is scaled to unit L2 norm (sentence-transformers' `Normalize`).
    public func apply(_ hidden: UnsafePointer<Float>, T: Int, C: Int, normalize: Bool) -> [[Float]] {
        var rows: [[Float]]
        switch self {
        case .none: rows = (0..<T).map { t in Array(UnsafeBufferPointer(start: hidden + t * C, count: C)) }
        case .cls: rows = [Array(UnsafeBufferPointer(start: hidden, count: C))]
        case .mean:
            var sum = [Double](repeating: 0, count: C)
            for t in 0..<T { for c in 0..<C { sum[c] += Double(hidden[t * C + c]) } }
            rows = [sum.map { Float($0 / Double(T)) }]
        }
        guard normalize else { return rows }
        return rows.map { row in
            let norm = row.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
            return row.map { Float(Double($0) / max(norm, 1e-12)) }
        }
    }
}
