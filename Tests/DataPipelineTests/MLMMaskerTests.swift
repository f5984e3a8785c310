import DataPipeline
import XCTest
import Support

/// MLM batches: masking statistics, specials never chosen, determinism per (seed, sequence), rank
/// splits equal one rank, layout with padding and NSP pairs, bad shapes.
final class MLMMaskerTests: XCTestCase {
    let specials = BERTSpecialTokens(cls: 1, sep: 2, mask: 3, pad: 0, others: [4])
    let V = 1000

    /// Random content in which 5 % of the tokens are specials (ids 0–4).
    func content(rows: Int, length: Int, seed: UInt64) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<(rows * length)).map { _ in rng.next() % 20 == 0 ? Int32(rng.next() % 5) : Int32(5 + rng.next() % UInt64(V - 5)) }
    }

    func testMaskingStatisticsOverManySteps() throws {
        let B = 8, T = 64, Tc = MLMMasker.contentLength(sequenceLength: T, nextSentence: false)
        let masker = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: V, specials: specials, seed: 7)
        var eligible = 0, chosen = 0, masked = 0, random = 0, kept = 0
        for step in 0..<200 {
            let c = content(rows: B, length: Tc, seed: UInt64(step))
            c.withUnsafeBufferPointer { masker.build(content: $0.baseAddress!, contentLength: Tc, firstSequence: UInt64(step * B)) }
            var stepChosen = 0
            for b in 0..<B {
                XCTAssertEqual(masker.tokens[b * T], specials.cls)
                XCTAssertEqual(masker.tokens[b * T + T - 1], specials.sep)
                for i in 1...Tc {
                    let original = c[b * Tc + i - 1], token = masker.tokens[b * T + i], target = masker.targets[b * T + i]
                    let special = original <= 4
                    if special {
                        XCTAssertEqual(target, -100, "a special token is never chosen")
                        XCTAssertEqual(token, original, "a special token is never replaced")
                        continue
                    }
                    eligible += 1
                    if target == -100 { XCTAssertEqual(token, original); continue }
                    XCTAssertEqual(target, original, "the target is the original token")
                    chosen += 1; stepChosen += 1
                    if token == specials.mask { masked += 1 } else if token == original { kept += 1 } else {
                        random += 1
                        XCTAssertGreaterThan(token, 4, "random replacements are never specials")
                        XCTAssertLessThan(token, Int32(V))
                    }
                }
                XCTAssertEqual(masker.targets[b * T], -100)
                XCTAssertEqual(masker.targets[b * T + T - 1], -100)
            }
            XCTAssertEqual(masker.chosenCount, stepChosen)
        }
        // ~96 000 eligible and ~14 400 chosen: the bounds are over 4 standard deviations.
        XCTAssertEqual(Double(chosen) / Double(eligible), 0.15, accuracy: 0.005, "chosen share")
        XCTAssertEqual(Double(masked) / Double(chosen), 0.8, accuracy: 0.015, "[MASK] share")
        XCTAssertEqual(Double(random) / Double(chosen), 0.1, accuracy: 0.012, "random share")
        XCTAssertEqual(Double(kept) / Double(chosen), 0.1, accuracy: 0.012, "kept share")
    }

    /// The same (seed, sequence) gives the same mask; two ranks of B/2 rows each build exactly the rows
    /// of one rank with B rows; another step or seed gives other masks.
    func testSameSequenceSameMaskAndRanksEqualOneRank() throws {
        let B = 8, T = 32, Tc = 30
        let c = content(rows: B, length: Tc, seed: 1)
        func build(_ masker: MLMMasker, rows: Range<Int>, first: UInt64) -> ([Int32], [Int32]) {
            Array(c[(rows.lowerBound * Tc)..<(rows.upperBound * Tc)]).withUnsafeBufferPointer {
                masker.build(content: $0.baseAddress!, contentLength: Tc, firstSequence: first)
            }
            return (Array(masker.tokens), Array(masker.targets))
        }
        let one = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: V, specials: specials, seed: 5)
        let whole = build(one, rows: 0..<B, first: 800)
        XCTAssertTrue(whole == build(one, rows: 0..<B, first: 800), "the same step repeats exactly (resume)")
        let half = try MLMMasker(microBatch: B / 2, sequenceLength: T, vocabularySize: V, specials: specials, seed: 5)
        let rank0 = build(half, rows: 0..<(B / 2), first: 800)
        let rank1 = build(half, rows: (B / 2)..<B, first: 804)
        XCTAssertEqual(rank0.0 + rank1.0, whole.0, "2 ranks build the tokens of 1 rank")
        XCTAssertEqual(rank0.1 + rank1.1, whole.1, "2 ranks build the targets of 1 rank")
        XCTAssertNotEqual(build(one, rows: 0..<B, first: 808).1, whole.1, "another step masks differently")
        let other = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: V, specials: specials, seed: 6)
        XCTAssertNotEqual(build(other, rows: 0..<B, first: 800).1, whole.1, "another seed masks differently")
    }

    func testPaddingAndNextSentencePairs() throws {
        let T = 12
        let single = try MLMMasker(microBatch: 2, sequenceLength: T, vocabularySize: V, specials: specials, seed: 1)
        single.maskRate = 0
        let rows: [Int32] = Array(10..<20) + Array(30..<40)
        let lengths = [10, 4]
        rows.withUnsafeBufferPointer { r in lengths.withUnsafeBufferPointer { l in
            single.build(content: r.baseAddress!, contentLength: 10, lengths: l.baseAddress!, firstSequence: 0) } }
        XCTAssertEqual(Array(single.tokens[0..<T]), [1] + Array(10..<20) + [2], "[CLS] A [SEP], truncated to T")
        XCTAssertEqual(Array(single.tokens[T..<(2 * T)]), [1, 30, 31, 32, 33, 2, 0, 0, 0, 0, 0, 0], "padded after [SEP]")
        XCTAssertEqual(Array(single.attentionMask[T..<(2 * T)]), [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(single.segments), [Int32](repeating: 0, count: 2 * T))
        XCTAssertEqual(Array(single.nextSentenceLabels), [-100, -100])

        let B = 4, Tc = MLMMasker.contentLength(sequenceLength: T, nextSentence: true)
        let pairs = try MLMMasker(microBatch: B, sequenceLength: T, vocabularySize: V, specials: specials, seed: 1, nextSentence: true)
        pairs.maskRate = 0
        var labels: [Int32] = []
        for step in 0..<50 {
            let c = (0..<(B * Tc)).map { Int32(100 + $0) }   // row b holds 100 + b·Tc ..< 100 + (b+1)·Tc
            c.withUnsafeBufferPointer { pairs.build(content: $0.baseAddress!, contentLength: Tc, firstSequence: UInt64(step * B)) }
            for b in 0..<B {
                let row = Array(pairs.tokens[(b * T)..<((b + 1) * T)])
                let la = Tc / 2
                XCTAssertEqual(Array(row[0...(la + 1)]), [1] + (0..<la).map { Int32(100 + b * Tc + $0) } + [2], "[CLS] A [SEP]")
                XCTAssertEqual(row[T - 1], 2)
                XCTAssertEqual(Array(pairs.segments[(b * T)..<((b + 1) * T)]), [Int32](repeating: 0, count: la + 2) + [Int32](repeating: 1, count: T - la - 2))
                let first = Int(row[la + 2]) - 100, source = first / Tc
                XCTAssertEqual(first % Tc, la, "B starts where A ends in its source row")
                XCTAssertEqual(pairs.nextSentenceLabels[b], source == b ? 0 : 1, "label 0 = B continues A")
                labels.append(pairs.nextSentenceLabels[b])
            }
        }
        let randomShare = Double(labels.filter { $0 == 1 }.count) / Double(labels.count)
        XCTAssertEqual(randomShare, 0.5, accuracy: 0.12, "half of the B segments are random (200 draws)")
    }

    func testBadShapesAreOneLineErrors() {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        let nsp = message { _ = try MLMMasker(microBatch: 1, sequenceLength: 16, vocabularySize: V, specials: specials, seed: 0, nextSentence: true) }
        XCTAssertTrue(nsp.hasPrefix("training.micro_batch: is 1;"), nsp)
        let short = message { _ = try MLMMasker(microBatch: 1, sequenceLength: 2, vocabularySize: V, specials: specials, seed: 0) }
        XCTAssertTrue(short.hasPrefix("training.seq_len: is 2;"), short)
        let vocab = message { _ = try MLMMasker(microBatch: 1, sequenceLength: 8, vocabularySize: 4, specials: specials, seed: 0) }
        XCTAssertTrue(vocab.hasPrefix("model.vocab_size: 4"), vocab)
    }
}
