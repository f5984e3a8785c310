/// One padded micro-batch of (source, target) token rows as Hugging Face fine-tunes an
/// encoder-decoder (`DataCollatorForSeq2Seq` with `T5ForConditionalGeneration`): sources padded with
/// the pad id to the longest row and a padding mask, labels (the target ids, EOS included) padded with
/// the ignore index, and decoder inputs = the start token followed by the labels shifted right (pad
/// where a label is ignored), as `_shift_right` builds them.
///
/// Shapes: B rows (≤ `capacity`), S = the longest source row, T = the longest target row; every
/// buffer is contiguous (B, S) or (B, T) for the current fill. Buffers are allocated once.
public final class Seq2SeqBatch {
    /// Most rows, source and target tokens per row.
    public let capacity: Int, maxSource: Int, maxTarget: Int
    /// Padding of sources and decoder inputs; the decoder's start token; the label of no target.
    public let pad: Int32, decoderStart: Int32, ignoreIndex: Int32
    /// (B, S) source ids and mask (1 = token, 0 = padding).
    public let source: UnsafeMutablePointer<Int32>, sourceMask: UnsafeMutablePointer<UInt8>
    /// (B, T) decoder inputs and labels.
    public let decoderInput: UnsafeMutablePointer<Int32>, labels: UnsafeMutablePointer<Int32>
    /// The current fill: rows, padded source and target lengths, and labels that are targets.
    public private(set) var rows = 0, S = 1, T = 1, targetTokens = 0

    /// Buffers for up to `capacity` rows of `maxSource` and `maxTarget` tokens.
    public init(capacity: Int, maxSource: Int, maxTarget: Int, pad: Int32, decoderStart: Int32, ignoreIndex: Int32) {
        precondition(capacity >= 1 && maxSource >= 1 && maxTarget >= 1, "an empty seq2seq batch")
        (self.capacity, self.maxSource, self.maxTarget) = (capacity, maxSource, maxTarget)
        (self.pad, self.decoderStart, self.ignoreIndex) = (pad, decoderStart, ignoreIndex)
        source = .allocate(capacity: capacity * maxSource); source.initialize(repeating: pad, count: capacity * maxSource)
        sourceMask = .allocate(capacity: capacity * maxSource); sourceMask.initialize(repeating: 0, count: capacity * maxSource)
        decoderInput = .allocate(capacity: capacity * maxTarget); decoderInput.initialize(repeating: pad, count: capacity * maxTarget)
        labels = .allocate(capacity: capacity * maxTarget); labels.initialize(repeating: ignoreIndex, count: capacity * maxTarget)
    }

    deinit { source.deallocate(); sourceMask.deallocate(); decoderInput.deallocate(); labels.deallocate() }

    /// Fills the batch with `sources[i]` and `targets[i]` for each i of `indices` (each row already
    /// fitted: 1…maxSource and 1…maxTarget ids, EOS last).
    public func fill(sources: [[Int32]], targets: [[Int32]], indices: some Collection<Int>) {
        precondition(!indices.isEmpty && indices.count <= capacity, "\(indices.count) rows for a batch of \(capacity)")
        rows = indices.count
        S = indices.map { sources[$0].count }.max()!
        T = indices.map { targets[$0].count }.max()!
        precondition(S >= 1 && S <= maxSource && T >= 1 && T <= maxTarget, "a row longer than the batch (\(S), \(T))")
        targetTokens = 0
        for (b, i) in indices.enumerated() {
            let s = sources[i], t = targets[i]
            precondition(!t.isEmpty, "an empty target row")
            for k in 0..<S {
                source[b * S + k] = k < s.count ? s[k] : pad
                sourceMask[b * S + k] = k < s.count ? 1 : 0
            }
            for k in 0..<T {
                labels[b * T + k] = k < t.count ? t[k] : ignoreIndex
                decoderInput[b * T + k] = k == 0 ? decoderStart : (k - 1 < t.count ? t[k - 1] : pad)
            }
            targetTokens += t.count
        }
    }
}
