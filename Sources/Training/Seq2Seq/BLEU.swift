import Foundation

/// Corpus BLEU as sacreBLEU computes it by default (`sacrebleu.corpus_bleu` / `BLEU()`): the `13a`
/// tokenizer, n-grams up to 4, clipped counts against one reference per hypothesis, NIST's exponential
/// smoothing of zero-match orders, and the exponential brevity penalty over the whole corpus.
///
/// The value holds the sufficient statistics (system and reference length, matched and total n-grams
/// per order), which add up over segments: build one per segment (`init(hypothesis:reference:)`), sum
/// them with `+` (or over ranks through `counts`), then read `score` (0…100).
public struct BLEU: Equatable, Sendable {
    /// Tokens of the hypotheses, and of their references.
    public var hypothesisLength = 0, referenceLength = 0
    /// Matched (clipped) and total hypothesis n-grams for n = 1…4.
    public var correct = [Int](repeating: 0, count: 4), total = [Int](repeating: 0, count: 4)

    /// Empty statistics (a corpus of no segments).
    public init() {}

    /// The statistics of one hypothesis against its reference.
    public init(hypothesis: String, reference: String) {
        let h = SacreText.tokens13a(hypothesis), r = SacreText.tokens13a(reference)
        hypothesisLength = h.count
        referenceLength = r.count
        let reference = Self.ngrams(r)
        for (gram, count) in Self.ngrams(h) {
            total[gram.count - 1] += count
            correct[gram.count - 1] += min(count, reference[gram] ?? 0)
        }
    }

    /// The statistics of a corpus: `hypotheses[i]` against `references[i]`.
    public static func corpus(hypotheses: [String], references: [String]) -> BLEU {
        precondition(hypotheses.count == references.count, "one reference per hypothesis")
        return zip(hypotheses, references).reduce(BLEU()) { $0 + BLEU(hypothesis: $1.0, reference: $1.1) }
    }

    /// Counts of every n-gram of order 1…4.
    private static func ngrams(_ tokens: [[Unicode.Scalar]]) -> [[[Unicode.Scalar]]: Int] {
        var counts: [[[Unicode.Scalar]]: Int] = [:]
        for n in 1...4 where tokens.count >= n {
            for i in 0...(tokens.count - n) { counts[Array(tokens[i..<(i + n)]), default: 0] += 1 }
        }
        return counts
    }

    /// The statistics of two sets of segments together.
    public static func + (a: BLEU, b: BLEU) -> BLEU {
        var sum = a
        sum.hypothesisLength += b.hypothesisLength
        sum.referenceLength += b.referenceLength
        for n in 0..<4 { sum.correct[n] += b.correct[n]; sum.total[n] += b.total[n] }
        return sum
    }

    /// The statistics as 10 numbers (lengths, correct, total), to sum over ranks.
    public var counts: [Double] { ([hypothesisLength, referenceLength] + correct + total).map(Double.init) }

    /// Statistics from `counts` (10 numbers, as `counts` writes them).
    public init(counts: [Double]) {
        precondition(counts.count == 10, "BLEU statistics are 10 numbers")
        let c = counts.map { Int($0.rounded()) }
        (hypothesisLength, referenceLength, correct, total) = (c[0], c[1], Array(c[2..<6]), Array(c[6..<10]))
    }

    /// exp(1 − r/c) when the hypotheses are shorter than the references (0 when empty), else 1.
    public var brevityPenalty: Double {
        guard hypothesisLength < referenceLength else { return 1 }
        return hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
    }

    /// The n-gram precisions (percent) after smoothing, as sacreBLEU's `precisions`.
    public var precisions: [Double] {
        var p = [Double](repeating: 0, count: 4), smooth = 1.0
        guard correct.contains(where: { $0 > 0 }) else { return p }
        for n in 0..<4 {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                p[n] = 100 / (smooth * Double(total[n]))
            } else {
                p[n] = 100 * Double(correct[n]) / Double(total[n])
            }
        }
        return p
    }

    /// BLEU (0…100): the brevity penalty times the geometric mean of the four precisions (0 when no
    /// n-gram matches or an order has no n-grams at all).
    public var score: Double {
        guard correct.contains(where: { $0 > 0 }) else { return 0 }
        let logs = precisions.map { $0 == 0 ? -9_999_999_999 : log($0) }
        return brevityPenalty * exp(logs.reduce(0, +) / 4)
    }
}
