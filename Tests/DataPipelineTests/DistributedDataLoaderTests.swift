import DataPipeline
import XCTest

/// DistributedDataLoader: rank slices partition the global batch, positions resume exactly.
final class DistributedDataLoaderTests: XCTestCase {
    private var directory = ""
    private var paths: [String] = []
    private var shardTokens: [[Int32]] = []
    private let t = 8

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
        // Three shards of different lengths; every token value is unique so rows are identifiable.
        var next: Int32 = 0
        for (index, length) in [1000, 777, 500].enumerated() {
            let tokens = (0..<length).map { _ -> Int32 in next += 1; return next }
            let writer = try ShardWriter(directory: directory, prefix: "train\(index)", shardTokens: 10_000, wideTokens: false)
            try writer.append(tokens)
            paths += try writer.finish()
            shardTokens.append(tokens)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// Samples of one unshuffled epoch, computed from the definition: T+1 tokens at stride T.
    private func expectedSamples() -> [[Int32]] {
        shardTokens.flatMap { tokens in
            (0..<((tokens.count - 1) / t)).map { s in Array(tokens[(s * t)...(s * t + t)]) }
        }
    }

    /// The (inputs, targets) rows of the loader's last batch, rejoined as T+1-token samples.
    private func rows(_ loader: DistributedDataLoader) -> [[Int32]] {
        (0..<loader.microBatch).map { b in
            Array(loader.inputs[(b * t)..<(b * t + t)]) + [loader.targets[b * t + t - 1]]
        }
    }

    private func assertShiftedTargets(_ loader: DistributedDataLoader) {
        for b in 0..<loader.microBatch {
            XCTAssertEqual(Array(loader.inputs[(b * t + 1)..<(b * t + t)]), Array(loader.targets[(b * t)..<(b * t + t - 1)]))
        }
    }

    func testUnshuffledStreamIsLlmcOrder() throws {
        let loader = try DistributedDataLoader(paths: paths, microBatch: 4, sequenceLength: t)
        let samples = expectedSamples()
        XCTAssertEqual(loader.sequencesPerEpoch, samples.count)
        var read: [[Int32]] = []
        for _ in 0..<(2 * samples.count / 4 + 3) {
            try loader.next()
            assertShiftedTargets(loader)
            read += rows(loader)
        }
        for (g, row) in read.enumerated() { XCTAssertEqual(row, samples[g % samples.count], "sequence \(g)") }
    }

    func testRankSlicesPartitionTheSameGlobalBatch() throws {
        for shuffle in [false, true] {
            for microBatch in [1, 2] {
                let global = 12 * microBatch  // sequences per optimizer step
                // One rank with 12 accumulation steps is the reference.
                let single = try DistributedDataLoader(paths: paths, microBatch: microBatch, sequenceLength: t, shuffle: shuffle, seed: 42)
                var reference: [[[Int32]]] = []  // [micro-step][row]
                for _ in 0..<(3 * 12) {
                    try single.next()
                    reference.append(rows(single))
                }
                for world in 1...4 {
                    let accumulation = global / (world * microBatch)
                    let loaders = try (0..<world).map {
                        try DistributedDataLoader(paths: paths, microBatch: microBatch, sequenceLength: t, rank: $0,
                                                  worldSize: world, shuffle: shuffle, seed: 42)
                    }
                    for step in 0..<3 {
                        var union: [[Int32]] = []
                        for micro in 0..<accumulation {
                            for (r, loader) in loaders.enumerated() {
                                try loader.next()
                                // Rank r, micro-step j ↔ single rank, micro-step j·N + r.
                                XCTAssertEqual(rows(loader), reference[step * 12 + micro * world + r],
                                               "shuffle \(shuffle) B \(microBatch) N \(world) step \(step) micro \(micro) rank \(r)")
                                union += rows(loader)
                            }
                        }
                        let expected = reference[(step * 12)..<(step * 12 + 12)].flatMap { $0 }
                        XCTAssertEqual(union.count, global)
                        XCTAssertEqual(Set(union.map { $0[0] }), Set(expected.map { $0[0] }))
                    }
                    XCTAssertEqual(Set(loaders.map(\.position)).count, 1)  // every rank agrees on the position
                }
            }
        }
    }

    func testShuffledEpochVisitsEverySampleOnceAndReshuffles() throws {
        let loader = try DistributedDataLoader(paths: paths, microBatch: 1, sequenceLength: t, shuffle: true, seed: 3)
        let samples = expectedSamples()
        var epochs: [[[Int32]]] = [[], []]
        for epoch in 0..<2 {
            for _ in 0..<samples.count {
                try loader.next()
                epochs[epoch] += rows(loader)
            }
        }
        XCTAssertEqual(Set(epochs[0]), Set(samples))
        XCTAssertEqual(Set(epochs[1]), Set(samples))
        XCTAssertNotEqual(epochs[0], samples)  // shuffled
        XCTAssertNotEqual(epochs[0], epochs[1])  // a new order per epoch
        XCTAssertEqual(loader.position.epoch, 2)
    }

    func testRestoredPositionContinuesWithIdenticalTokens() throws {
        for shuffle in [false, true] {
            let original = try DistributedDataLoader(paths: paths, microBatch: 3, sequenceLength: t, rank: 1, worldSize: 2,
                                                     shuffle: shuffle, seed: 99)
            for _ in 0..<17 { try original.next() }
            let saved = try JSONEncoder().encode(original.position)
            XCTAssertLessThan(saved.count, 300)
            let resumed = try DistributedDataLoader(paths: paths, microBatch: 3, sequenceLength: t, rank: 1, worldSize: 2,
                                                    shuffle: shuffle, seed: 99)
            try resumed.restore(JSONDecoder().decode(DataLoaderPosition.self, from: saved))
            for step in 0..<80 {  // crosses into the next epochs
                try original.next()
                try resumed.next()
                XCTAssertEqual(Array(original.inputs), Array(resumed.inputs), "shuffle \(shuffle) step \(step)")
                XCTAssertEqual(Array(original.targets), Array(resumed.targets))
            }
            XCTAssertEqual(original.position, resumed.position)
            XCTAssertGreaterThan(original.position.epoch, 0)
        }
    }

    func testRestoreRejectsOtherSettings() throws {
        let a = try DistributedDataLoader(paths: paths, microBatch: 2, sequenceLength: t, shuffle: true, seed: 1)
        let b = try DistributedDataLoader(paths: paths, microBatch: 2, sequenceLength: t, shuffle: true, seed: 2)
        XCTAssertThrowsError(try b.restore(a.position)) { error in
            XCTAssertTrue("\(error)".contains("seed 1"), "\(error)")
        }
    }

    func testValidationResetAndDiscovery() throws {
        let valDirectory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: valDirectory) }
        let writer = try ShardWriter(directory: valDirectory, prefix: "val", shardTokens: 50, wideTokens: false)
        try writer.append((1...120).map { Int32($0) })
        try writer.finish()
        try ShardWriter(directory: valDirectory, prefix: "train", shardTokens: 50, wideTokens: false).append([1])
        let loader = try DistributedDataLoader(location: valDirectory, split: "val", microBatch: 2, sequenceLength: t)
        XCTAssertEqual(loader.shards.count, 3)
        try loader.next()
        let first = Array(loader.inputs)
        XCTAssertEqual(first, (1...16).map { Int32($0) })
        try loader.next()
        loader.reset()
        try loader.next()
        XCTAssertEqual(Array(loader.inputs), first)
        XCTAssertThrowsError(try ShardFiles.find(valDirectory, split: "test")) { error in
            XCTAssertTrue("\(error)".contains("no token shards"), "\(error)")
        }
    }

    func testTokensBeyondModelVocabularyAndShortData() throws {
        let loader = try DistributedDataLoader(paths: paths, microBatch: 2, sequenceLength: t, modelVocabularySize: 10)
        XCTAssertThrowsError(try loader.next()) { error in
            XCTAssertTrue("\(error)".contains("does not fit the model's vocab_size 10"), "\(error)")
        }
        XCTAssertThrowsError(try DistributedDataLoader(paths: [paths[2]], microBatch: 1, sequenceLength: 500)) { error in
            XCTAssertTrue("\(error)".contains("fewer than one sequence"), "\(error)")
        }
    }
}
