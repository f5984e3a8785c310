/// How every reader of source/target pairs (fine-tuning's and evaluation's `Seq2SeqExamples`, the
/// Transformer's `PairShard`) fits a pair's token rows to its limits: the ids then EOS; a row longer
/// than its limit (EOS included) is truncated as Hugging Face's `truncation=True` does (the first
/// limit − 1 ids, then EOS) or refused with one line naming the pair, the limit and the fix.
public struct PairFitting: Sendable {
    /// What to do with a row longer than its limit.
    public enum Overflow: String, Sendable, CaseIterable {
        /// Keep the first limit − 1 ids and EOS (counted by the reader).
        case truncate
        /// Stop with a one-line error naming the pair.
        case refuse
    }

    /// The longest source and target rows, EOS included.
    public let sourceLength: Int, targetLength: Int
    /// The id ending every row.
    public let eos: Int32
    /// Truncate or refuse.
    public let overflow: Overflow
    /// How messages name the source and target limits (a flag such as --seq-len, or a config key).
    public let sourceLimit: String, targetLimit: String

    /// Rows of at most `sourceLength` and `targetLength` ids (EOS included; the target needs room for
    /// a token and EOS), named `sourceLimit` and `targetLimit` in a refusal.
    public init(sourceLength: Int, targetLength: Int, eos: Int32, overflow: Overflow, sourceLimit: String = "--seq-len",
                targetLimit: String = "--target-len") {
        precondition(sourceLength >= 1 && targetLength >= 2, "limits too small for EOS")
        (self.sourceLength, self.targetLength, self.eos, self.overflow) = (sourceLength, targetLength, eos, overflow)
        (self.sourceLimit, self.targetLimit) = (sourceLimit, targetLimit)
    }

    /// The source row and target row of one pair (ids without EOS) and whether either was cut; a
    /// refusal is one `DataError` line naming `pair` (e.g. "file.jsonl:12").
    public func fit(source: [Int32], target: [Int32], pair: @autoclosure () -> String) throws -> (source: [Int32], target: [Int32], cutSource: Bool, cutTarget: Bool) {
        let (s, cutSource) = try fit(source, limit: sourceLength, side: "source", name: sourceLimit, pair: pair)
        let (t, cutTarget) = try fit(target, limit: targetLength, side: "target", name: targetLimit, pair: pair)
        return (s, t, cutSource, cutTarget)
    }

    private func fit(_ ids: [Int32], limit: Int, side: String, name: String, pair: () -> String) throws -> ([Int32], Bool) {
        guard ids.count + 1 > limit else { return (ids + [eos], false) }
        guard overflow == .truncate else {
            throw DataError.invalidSetting(name: pair(), problem: "the \(side) is \(ids.count + 1) tokens with EOS, more than \(name) \(limit); raise \(name), shorten the text, or pass --too-long truncate")
        }
        return (Array(ids.prefix(limit - 1)) + [eos], true)
    }
}
