import DataPipeline

/// Source/target pairs as token rows for an encoder-decoder: each source is the task prefix and the
/// source text, each target the target text, both tokenized without special tokens and ended with EOS
/// (as Hugging Face's T5 tokenizer does), and fitted to the run's limits.
///
/// A row longer than its limit (`sourceLength`, `targetLength`, EOS included) is truncated or refused
/// as `PairFitting` says (`truncated` counts the pairs cut).
public struct Seq2SeqExamples {
    /// What to do with a row longer than its limit (the policy every pair reader shares).
    public typealias Overflow = PairFitting.Overflow

    /// Source rows (EOS last, 1…sourceLength ids) and target rows (EOS last, 1…targetLength ids).
    public let sources: [[Int32]], targets: [[Int32]]
    /// The target texts (references for BLEU and chrF), in order.
    public let references: [String]
    /// Pairs with a source or target that was cut to its limit.
    public let truncated: Int

    /// The number of pairs.
    public var count: Int { sources.count }

    /// Fits token rows (without EOS) to the limits: `describe(i)` names pair i in a refusal.
    public init(sourceIds: [[Int32]], targetIds: [[Int32]], references: [String], eos: Int32, sourceLength: Int, targetLength: Int,
                overflow: Overflow, describe: (Int) -> String) throws {
        let fitting = PairFitting(sourceLength: sourceLength, targetLength: targetLength, eos: eos, overflow: overflow)
        var sources: [[Int32]] = [], targets: [[Int32]] = [], truncated = 0
        sources.reserveCapacity(sourceIds.count)
        targets.reserveCapacity(targetIds.count)
        for i in sourceIds.indices {
            let row: (source: [Int32], target: [Int32], cutSource: Bool, cutTarget: Bool)
            do { row = try fitting.fit(source: sourceIds[i], target: targetIds[i], pair: describe(i)) } catch let error as DataError {
                throw TrainingError("\(error)", exitCode: 2)
            }
            sources.append(row.source)
            targets.append(row.target)
            if row.cutSource || row.cutTarget { truncated += 1 }
        }
        (self.sources, self.targets, self.references, self.truncated) = (sources, targets, references, truncated)
    }

    /// Tokenizes `pairs` with `tokenizer` (`prefix` before each source) and fits them to the limits.
    public init(_ pairs: Seq2SeqPairs, tokenizer: Tokenizer, prefix: String, eos: Int32, sourceLength: Int, targetLength: Int,
                overflow: Overflow) throws {
        try self.init(sourceIds: pairs.sources.map { tokenizer.encode(prefix + $0) }, targetIds: pairs.targets.map { tokenizer.encode($0) },
                      references: pairs.targets, eos: eos, sourceLength: sourceLength, targetLength: targetLength, overflow: overflow,
                      describe: { "\(pairs.path):\(pairs.lines[$0])" })
    }

    /// The source and target field names of `--fields SOURCE,TARGET` (one-line error otherwise).
    public static func fields(_ spec: String) throws -> (source: String, target: String) {
        do { return try Seq2SeqPairs.fields(spec) } catch let error as DataError { throw TrainingError("\(error)", exitCode: 2) }
    }
}
