import DataPipeline
import Foundation
import XCTest

/// Span corruption against Hugging Face's published algorithm (Fixtures/span-corruption, made by
/// make_span_corruption.py): lengths, the inputs and targets built from HF's own noise masks, and the
/// statistics of our counter-based masks; determinism by (seed, stream index).
final class SpanCorruptionTests: XCTestCase {
    struct Fixture {
        let vocab: Int, eos: Int32
        let lengths: [[Int]]
        let rows: [(tokens: [Int32], noise: [Bool], inputs: [Int32], labels: [Int32])]

        init() throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("span-corruption/span-corruption.json")))
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
            vocab = json["vocab"] as! Int
            eos = Int32(json["eos"] as! Int)
            lengths = json["lengths"] as! [[Int]]
            rows = (json["rows"] as! [[String: [Int]]]).map { row in
                (row["tokens"]!.map(Int32.init), row["noise"]!.map { $0 != 0 }, row["inputs"]!.map(Int32.init), row["labels"]!.map(Int32.init))
            }
        }

        /// Sentinel k = vocab − 1 − k, as HF's collator numbers them from len(tokenizer).
        var specials: T5SpecialTokens {
            T5SpecialTokens(pad: 0, eos: eos, sentinels: (0..<120).map { Int32(vocab - 1 - $0) })
        }
    }

    func testLengthsAreHuggingFaces() throws {
        let fx = try Fixture()
        XCTAssertEqual(fx.lengths.count, 597)
        for row in fx.lengths {
            let (tokens, targets) = SpanCorruption.lengths(inputsLength: row[0], noiseDensity: 0.15, meanSpanLength: 3)
            XCTAssertEqual([tokens, targets], [row[1], row[2]], "inputs_length \(row[0])")
        }
    }

    /// HF's inputs and labels from HF's masks, token for token; and our masks of the same lengths have
    /// HF's noise count and span count, start with kept tokens and alternate in non-empty runs.
    func testCorruptionMatchesHuggingFacesAlgorithm() throws {
        let fx = try Fixture()
        for row in fx.rows {
            let n = row.tokens.count
            var inputs = [Int32](repeating: -1, count: n + 2), targets = [Int32](repeating: -1, count: n + 2)
            let (s, t) = SpanCorruption.corrupt(tokens: row.tokens, noise: row.noise, count: n, specials: fx.specials,
                                                inputs: &inputs, targets: &targets)
            XCTAssertEqual(Array(inputs[0..<s]), row.inputs, "inputs, length \(n)")
            XCTAssertEqual(Array(targets[0..<t]), row.labels, "labels, length \(n)")
            let runs = self.runs(row.noise)
            let (noise, spans) = SpanCorruption.counts(length: n, noiseDensity: 0.15, meanSpanLength: 3)
            XCTAssertEqual(row.noise.filter { $0 }.count, noise)
            XCTAssertEqual(runs.count, 2 * spans, "HF's mask alternates kept and noise runs, length \(n)")
        }
    }

    /// Our masks: for many rows of L = 568 (inputs 512), exactly HF's counts, alternating non-empty runs
    /// starting with kept tokens, every cut position reachable; inputs and targets fill their lengths.
    func testMasksHaveHuggingFacesShape() throws {
        let fx = try Fixture()
        let corruption = try SpanCorruption(microBatch: 2, inputsLength: 512, specials: fx.specials, seed: 7)
        XCTAssertEqual([corruption.tokensLength, corruption.inputsLength, corruption.targetsLength], [568, 512, 114])
        var mask = [Bool](repeating: false, count: 568)
        var noiseAt = [Int](repeating: 0, count: 568)
        for key in 0..<300 {
            corruption.noiseMask(into: &mask, key: UInt64(key))
            XCTAssertEqual(mask.filter { $0 }.count, corruption.noiseTokens)
            let runs = self.runs(mask)
            XCTAssertEqual(runs.count, 2 * corruption.noiseSpans)
            XCTAssertFalse(mask[0], "a row starts with kept tokens")
            for (i, isNoise) in mask.enumerated() where isNoise { noiseAt[i] += 1 }
        }
        // Positions 1… are noise about 15 % of the time (300 rows: a loose band that a fixed mask fails).
        let share = Double(noiseAt[1...].reduce(0, +)) / Double(300 * 567)
        XCTAssertEqual(share, 0.15, accuracy: 0.01)
        XCTAssertGreaterThan(noiseAt.filter { $0 == 0 }.count, 0, "position 0 is never noise")
        XCTAssertLessThan(noiseAt[1...].filter { $0 == 0 }.count, 10, "noise lands almost everywhere")
    }

    /// A row's corruption depends only on (seed, its stream index): building rows 5 and 6 as a batch
    /// equals building each alone at its index; another seed differs. Targets shift into decoder inputs.
    func testRowsDependOnlyOnSeedAndStreamIndex() throws {
        let fx = try Fixture()
        let pair = try SpanCorruption(microBatch: 2, inputsLength: 40, specials: fx.specials, seed: 3)
        let L = pair.tokensLength
        let content = (0..<(2 * L)).map { Int32(10 + $0 % 500) }
        pair.build(content: content, contentLength: L, firstSequence: 5)
        let single = try SpanCorruption(microBatch: 1, inputsLength: 40, specials: fx.specials, seed: 3)
        for b in 0..<2 {
            Array(content[(b * L)..<((b + 1) * L)]).withUnsafeBufferPointer {
                single.build(content: $0.baseAddress!, contentLength: L, firstSequence: UInt64(5 + b))
            }
            XCTAssertEqual(Array(pair.inputs[(b * 40)..<((b + 1) * 40)]), Array(single.inputs))
            XCTAssertEqual(Array(pair.targets[(b * pair.targetsLength)..<((b + 1) * pair.targetsLength)]), Array(single.targets))
        }
        XCTAssertEqual(Array(pair.inputMask), [UInt8](repeating: 1, count: 80), "full rows fill the inputs")
        XCTAssertEqual(pair.decoderInputs[0], 0)
        XCTAssertEqual(Array(pair.decoderInputs[1..<pair.targetsLength]), Array(pair.targets[0..<(pair.targetsLength - 1)]))
        let other = try SpanCorruption(microBatch: 2, inputsLength: 40, specials: fx.specials, seed: 4)
        other.build(content: content, contentLength: L, firstSequence: 5)
        XCTAssertNotEqual(Array(other.inputs), Array(pair.inputs))
    }

    func testBadSettingsAreOneLine() throws {
        let fx = try Fixture()
        let few = T5SpecialTokens(pad: 0, eos: 1, sentinels: [999, 998])
        XCTAssertThrowsError(try SpanCorruption(microBatch: 1, inputsLength: 512, specials: few, seed: 1)) {
            XCTAssertTrue("\($0)".contains("2 sentinels"), "\($0)")
        }
        XCTAssertThrowsError(try SpanCorruption(microBatch: 1, inputsLength: 64, noiseDensity: 1.5, specials: fx.specials, seed: 1)) {
            XCTAssertTrue("\($0)".contains("training.noise_density"), "\($0)")
        }
    }

    /// Lengths of the runs of equal values.
    private func runs(_ mask: [Bool]) -> [Int] {
        var result: [Int] = []
        for (i, v) in mask.enumerated() { if i == 0 || v != mask[i - 1] { result.append(1) } else { result[result.count - 1] += 1 } }
        return result
    }
}
