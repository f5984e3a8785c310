import Foundation
import Training
import XCTest

/// BLEU and chrF against the `sacrebleu` package (Fixtures/sacrebleu.json, made by
/// make_sacrebleu_fixture.py): typical, perfect, empty, short, unmatched, smoothed, unicode,
/// punctuation/entity and whitespace cases; and statistics that add up over shares of a corpus.
final class Seq2SeqMetricsTests: XCTestCase {
    struct Case: Decodable {
        let name: String, hypotheses: [String], references: [String]
        let bleu: Double, counts: [Int], totals: [Int], bp: Double, sys_len: Int, ref_len: Int, chrf: Double
    }

    func cases() throws -> [Case] {
        struct File: Decodable { let cases: [Case] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sacrebleu.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    func testBLEUAndChrFEqualSacreBLEU() throws {
        let all = try cases()
        XCTAssertEqual(all.count, 11)
        for c in all {
            let bleu = BLEU.corpus(hypotheses: c.hypotheses, references: c.references)
            XCTAssertEqual(bleu.correct, c.counts, "\(c.name): matched n-grams")
            XCTAssertEqual(bleu.total, c.totals, "\(c.name): hypothesis n-grams")
            XCTAssertEqual(bleu.hypothesisLength, c.sys_len, "\(c.name): system length")
            XCTAssertEqual(bleu.referenceLength, c.ref_len, "\(c.name): reference length")
            XCTAssertEqual(bleu.brevityPenalty, c.bp, accuracy: 1e-12, "\(c.name): brevity penalty")
            XCTAssertEqual(bleu.score, c.bleu, accuracy: 1e-9, "\(c.name): BLEU")
            let chrF = ChrF.corpus(hypotheses: c.hypotheses, references: c.references)
            XCTAssertEqual(chrF.score, c.chrf, accuracy: 1e-9, "\(c.name): chrF")
        }
    }

    /// Statistics of two shares of a corpus, added (as ranks add theirs), score as the whole corpus.
    func testStatisticsAddUpOverShares() throws {
        let c = try XCTUnwrap(try cases().first { $0.name == "unicode" })
        let h = c.hypotheses, r = c.references
        let bleu = BLEU.corpus(hypotheses: Array(h[..<1]), references: Array(r[..<1])) + BLEU.corpus(hypotheses: Array(h[1...]), references: Array(r[1...]))
        XCTAssertEqual(BLEU(counts: bleu.counts), BLEU.corpus(hypotheses: h, references: r))
        XCTAssertEqual(bleu.score, c.bleu, accuracy: 1e-9)
        let chrF = ChrF.corpus(hypotheses: Array(h[..<2]), references: Array(r[..<2])) + ChrF.corpus(hypotheses: Array(h[2...]), references: Array(r[2...]))
        XCTAssertEqual(ChrF(counts: chrF.counts).score, c.chrf, accuracy: 1e-9)
        XCTAssertEqual(BLEU().score, 0, "an empty corpus")
        XCTAssertEqual(ChrF().score, 0, "an empty corpus")
    }
}
