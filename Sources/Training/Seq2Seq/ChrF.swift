/// Corpus chrF as sacreBLEU computes it by default (`sacrebleu.corpus_chrf` / `CHRF()`): character
/// n-grams of order 1…6 over the text with whitespace removed (Unicode scalars, as Python's `str`), no
/// word n-grams, and the F-score with β = 2 of the precision and recall averaged over the orders that
/// occur in both hypothesis and reference.
///
/// The value holds the sufficient statistics (per order: hypothesis n-grams, reference n-grams,
/// matches), which add up over segments: build one per segment, sum with `+` (or over ranks through
/// `counts`), then read `score` (0…100).
public struct ChrF: Equatable, Sendable {
    /// The character n-gram orders.
    public static let order = 6
    /// β: recall weighs β² times as much as precision.
    public static let beta = 2.0
    /// Per order n = 1…6: hypothesis n-grams (0 when the reference has none of that order), reference
    /// n-grams, and matched (clipped) n-grams.
    public var hypothesis = [Int](repeating: 0, count: order), reference = [Int](repeating: 0, count: order),
               matched = [Int](repeating: 0, count: order)

    /// Empty statistics (a corpus of no segments).
    public init() {}

    /// The statistics of one hypothesis against its reference.
    public init(hypothesis h: String, reference r: String) {
        let hs = Self.characters(h), rs = Self.characters(r)
        for n in 1...Self.order {
            let hg = Self.ngrams(hs, n), rg = Self.ngrams(rs, n)
            var hypothesisCount = 0, matches = 0
            for (gram, count) in hg {
                hypothesisCount += count
                matches += min(count, rg[gram] ?? 0)
            }
            hypothesis[n - 1] = rg.isEmpty ? 0 : hypothesisCount
            reference[n - 1] = rg.values.reduce(0, +)
            matched[n - 1] = matches
        }
    }

    /// The statistics of a corpus: `hypotheses[i]` against `references[i]`.
    public static func corpus(hypotheses: [String], references: [String]) -> ChrF {
        precondition(hypotheses.count == references.count, "one reference per hypothesis")
        return zip(hypotheses, references).reduce(ChrF()) { $0 + ChrF(hypothesis: $1.0, reference: $1.1) }
    }

    /// The text's scalars without whitespace (`''.join(line.split())`).
    private static func characters(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { !SacreText.isSpace($0) }
    }

    private static func ngrams(_ s: [Unicode.Scalar], _ n: Int) -> [ArraySlice<Unicode.Scalar>: Int] {
        var counts: [ArraySlice<Unicode.Scalar>: Int] = [:]
        if s.count >= n { for i in 0...(s.count - n) { counts[s[i..<(i + n)], default: 0] += 1 } }
        return counts
    }

    /// The statistics of two sets of segments together.
    public static func + (a: ChrF, b: ChrF) -> ChrF {
        var sum = a
        for n in 0..<order {
            sum.hypothesis[n] += b.hypothesis[n]
            sum.reference[n] += b.reference[n]
            sum.matched[n] += b.matched[n]
        }
        return sum
    }

    /// The statistics as 18 numbers, to sum over ranks.
    public var counts: [Double] { (hypothesis + reference + matched).map(Double.init) }

    /// Statistics from `counts` (18 numbers, as `counts` writes them).
    public init(counts: [Double]) {
        precondition(counts.count == 3 * Self.order, "chrF statistics are 18 numbers")
        let c = counts.map { Int($0.rounded()) }
        (hypothesis, reference, matched) = (Array(c[0..<6]), Array(c[6..<12]), Array(c[12..<18]))
    }

    /// chrF (0…100).
    public var score: Double {
        var precision = 0.0, recall = 0.0, orders = 0
        for n in 0..<Self.order where hypothesis[n] > 0 && reference[n] > 0 {
            precision += Double(matched[n]) / Double(hypothesis[n])
            recall += Double(matched[n]) / Double(reference[n])
            orders += 1
        }
        guard orders > 0 else { return 0 }
        precision /= Double(orders)
        recall /= Double(orders)
        let factor = Self.beta * Self.beta
        guard precision + recall > 0 else { return 0 }
        return 100 * (1 + factor) * precision * recall / (factor * precision + recall)
    }
}
