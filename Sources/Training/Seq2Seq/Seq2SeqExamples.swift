import DataPipeline

/// Source/target pairs as token rows for an encoder-decoder: each source is the task prefix and the
/// source text, each target the target text, both tokenized without special tokens and ended with EOS
/// (as Hugging Face's T5 tokenizer does), and fitted to the run's limits.
///
/// A row longer than its limit (`sourceLength`, `targetLength`, EOS included) is either truncated as
/// Hugging Face's `truncation=True` does (the first limit − 1 ids, then EOS; `truncated` counts the
/// pairs cut) or refused with one line naming the file, the line and the fix.
public struct Seq2SeqExamples {
    /// What to do with a row longer than its limit.
    public enum Overflow: String, Sendable, CaseIterable {
        /// Keep the first limit − 1 ids and EOS (counted in `truncated`).
        case truncate
        /// Stop with a one-line error naming the pair.
        case refuse
    }

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
        precondition(sourceLength >= 1 && targetLength >= 2, "limits too small for EOS")
        var sources: [[Int32]] = [], targets: [[Int32]] = [], truncated = 0
        sources.reserveCapacity(sourceIds.count)
        targets.reserveCapacity(targetIds.count)
        for i in sourceIds.indices {
            var cut = false
            for (ids, limit, side, flag) in [(sourceIds[i], sourceLength, "source", "--seq-len"), (targetIds[i], targetLength, "target", "--target-len")] {
                var row = ids + [eos]
                if row.count > limit {
                    guard overflow == .truncate else {
                        throw TrainingError("\(describe(i)): the \(side) is \(row.count) tokens with EOS, more than \(flag) \(limit); raise \(flag), shorten the text, or pass --too-long truncate", exitCode: 2)
                    }
                    row = Array(ids.prefix(limit - 1)) + [eos]
                    cut = true
                }
                if side == "source" { sources.append(row) } else { targets.append(row) }
            }
            if cut { truncated += 1 }
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
