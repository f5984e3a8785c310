import Checkpoint
import Foundation
import Model
import TestSupport
import XCTest
import Support

/// Reading back: every buffer bitwise (zstd and raw), any range out of shards cut unlike the request
/// (resharding), and every kind of damage refused with a message naming the file.
final class CheckpointReaderTests: XCTestCase {
    let model = GPTConfig(vocabSize: 40, maxSeqLen: 8, nLayer: 2, nHead: 2, dModel: 16)

    func random(_ n: Int, seed: UInt64) throws -> FlatBuffer {
        var rng = SplitMix64(seed: seed)
        let b = try FlatBuffer(count: n)
        for i in 0..<n { b.pointer[i] = Float(Int64(bitPattern: rng.next() >> 20)) * 1e-12 }
        return b
    }

    func testLocalSaveRoundTripsEveryBufferBitwiseWithAndWithoutCompression() throws {
        let layout = GPTLayout(config: model)
        let p = try random(layout.count, seed: 1), m = try random(layout.count, seed: 2), v = try random(layout.count, seed: 3)
        for method in [ChunkCodec.Method.zstd, .none] {
            let root = try CheckpointFixtures.temporaryDirectory("local")
            defer { try? FileManager.default.removeItem(atPath: root) }
            var options = LocalCheckpoint.Options()
            options.method = method
            options.chunkElements = 1000  // several chunks
            options.optimizerStep = 17
            let dir = try LocalCheckpoint.save(root: root, step: 5, layout: layout, params: p, m: m, v: v, options: options)
            XCTAssertEqual(dir, root + "/step-00000005")
            let reader = try CheckpointReader(path: root)
            XCTAssertEqual(reader.directory, dir)
            XCTAssertEqual(reader.manifest.optimizerStep, 17)
            let back = try CheckpointFixtures.buffers(root)
            XCTAssertEqual(CheckpointFixtures.bits(back.params), CheckpointFixtures.bits(p.toArray()), "\(method) params")
            XCTAssertEqual(CheckpointFixtures.bits(back.m), CheckpointFixtures.bits(m.toArray()), "\(method) m")
            XCTAssertEqual(CheckpointFixtures.bits(back.v), CheckpointFixtures.bits(v.toArray()), "\(method) v")
            let expectedSize = method == .none ? layout.count * 12 : nil
            if let expectedSize { XCTAssertEqual(reader.manifest.storedBytes, expectedSize) }
        }
    }

    /// Shards written the way 3 ZeRO-1 ranks write them (interleaved moment pieces), read back as
    /// arbitrary ranges a different world size would ask for.
    func testAnyRangeReadsBackFromShardsCutDifferently() throws {
        let layout = GPTLayout(config: model)
        let n = layout.count
        let p = try random(n, seed: 4), m = try random(n, seed: 5), v = try random(n, seed: 6)
        let root = try CheckpointFixtures.temporaryDirectory("reshard")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = CheckpointStore(root: root)
        try store.prepareStaging(step: 9)
        let world = 3, piece = 100
        var shards: [CheckpointManifest.Shard] = []
        let codec = try ChunkCodec(method: .zstd, level: 1, shuffle: true, chunkElements: 777)
        for r in 0..<world {
            // Rank r owns piece r of every chunk of world × piece elements.
            let moments = stride(from: 0, to: n, by: world * piece).map { c in
                min(n, c + r * piece)..<min(n, c + (r + 1) * piece)
            }
            let segments = CheckpointPlan.segments(rank: r, worldSize: world, count: n, moments: moments)
            var stream: [Float] = []
            for s in segments {
                let source = s.buffer == .params ? p : s.buffer == .m ? m : v
                stream += Array(source[s.range])
            }
            let file = CheckpointPlan.shardFileName(rank: r, worldSize: world, method: .zstd)
            let result = try CheckpointShardWriter.write(stream, count: stream.count, to: store.stagingDirectory(step: 9) + "/" + file, codec: codec)
            shards.append(.init(file: file, rank: r, segments: segments, rawBytes: stream.count * 4, storedBytes: result.storedBytes,
                                checksum: CheckpointManifest.checksumString(result.checksum)))
        }
        let manifest = CheckpointManifest(step: 9, tokensSeen: 0, worldSize: world, zero1: true, hasOptimizerState: true, optimizerStep: 9,
                                          config: "", tokenizerHash: nil, compression: .zstd, level: 1, shuffle: true, chunkElements: 777,
                                          layout: layout, shards: shards, dataPositions: [], created: "now")
        try store.commit(manifest, tokenizer: nil, keepLast: 3)
        let reader = try CheckpointReader(path: root)
        var rng = SplitMix64(seed: 99)
        for _ in 0..<30 {
            let a = Int(rng.next() % UInt64(n)), b = Int(rng.next() % UInt64(n))
            let range = min(a, b)..<(max(a, b) + 1)
            var outP = [Float](repeating: 0, count: range.count), outM = outP, outV = outP
            try outP.withUnsafeMutableBufferPointer { pp in
                try outM.withUnsafeMutableBufferPointer { mm in
                    try outV.withUnsafeMutableBufferPointer { vv in
                        try reader.read([.init(buffer: .v, range: range, destination: vv.baseAddress!),
                                         .init(buffer: .params, range: range, destination: pp.baseAddress!),
                                         .init(buffer: .m, range: range, destination: mm.baseAddress!)])
                    }
                }
            }
            XCTAssertEqual(CheckpointFixtures.bits(outP), CheckpointFixtures.bits(Array(p[range])), "params \(range)")
            XCTAssertEqual(CheckpointFixtures.bits(outM), CheckpointFixtures.bits(Array(m[range])), "m \(range)")
            XCTAssertEqual(CheckpointFixtures.bits(outV), CheckpointFixtures.bits(Array(v[range])), "v \(range)")
        }
    }

    /// A saved checkpoint of this test's model (zstd, several chunks); returns (root, shard path).
    func savedCheckpoint() throws -> (String, String) {
        let layout = GPTLayout(config: model)
        let root = try CheckpointFixtures.temporaryDirectory("damage")
        var options = LocalCheckpoint.Options()
        options.chunkElements = 2000
        let dir = try LocalCheckpoint.save(root: root, step: 3, layout: layout, params: try random(layout.count, seed: 7),
                                           m: try random(layout.count, seed: 8), v: try random(layout.count, seed: 9), options: options)
        return (root, dir + "/rank-00000-of-00001.zst")
    }

    func testFlippedByteAndTruncationFailVerifyLoadAndTheCLINamingTheFile() throws {
        let pretrain = try ProcessRunner.pretrainBinary()
        for damage in ["flip-early", "flip-late", "truncate"] {
            let (root, shard) = try savedCheckpoint()
            defer { try? FileManager.default.removeItem(atPath: root) }
            let ok = try ProcessRunner.execute(pretrain, ["checkpoint", "verify", root])
            XCTAssertEqual(ok.status, 0, ok.output)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
            switch damage {
            case "flip-early": bytes[bytes.count / 3] ^= 0x10
            case "flip-late": bytes[bytes.count - 5] ^= 0x01
            default: bytes = bytes.prefix(bytes.count - 100)
            }
            try bytes.write(to: URL(fileURLWithPath: shard))
            let reader = try CheckpointReader(path: root)
            XCTAssertThrowsError(try reader.verify(), damage) { XCTAssertTrue("\($0)".contains(shard), "\(damage): \($0)") }
            var params = [Float](repeating: 0, count: reader.manifest.parameterCount)
            XCTAssertThrowsError(try params.withUnsafeMutableBufferPointer { try reader.readParameters(into: $0) }, damage) {
                XCTAssertTrue("\($0)".contains("rank-00000-of-00001.zst"), "\($0)")
            }
            let run = try ProcessRunner.execute(pretrain, ["checkpoint", "verify", root])
            XCTAssertEqual(run.status, 1, run.output)
            XCTAssertTrue(run.output.hasPrefix("error: ") && run.output.contains(shard), run.output)
            XCTAssertEqual(run.lines.count, 1, run.output)
        }
    }

    /// `verify` checks the tokenizer.json the manifest records (its xxh64) and that the manifest's step
    /// is its directory's: both used to pass (issue 22, point 7).
    func testVerifyChecksTheTokenizerAndTheStepAgainstTheDirectoryName() throws {
        let pretrain = try ProcessRunner.pretrainBinary()
        let layout = GPTLayout(config: model)
        let root = try CheckpointFixtures.temporaryDirectory("verify")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try #"{"model": {"vocab": {}}}"#.write(toFile: root + "/source-tokenizer.json", atomically: true, encoding: .utf8)
        var options = LocalCheckpoint.Options()
        options.tokenizer = root + "/source-tokenizer.json"
        let dir = try LocalCheckpoint.save(root: root + "/ckpt", step: 3, layout: layout, params: try random(layout.count, seed: 7),
                                           m: try random(layout.count, seed: 8), v: try random(layout.count, seed: 9), options: options)
        XCTAssertEqual(try ProcessRunner.execute(pretrain, ["checkpoint", "verify", dir]).status, 0)

        let tokenizer = dir + "/tokenizer.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: tokenizer))
        try #"{"model": {"vocab": {"a": 0}}}"#.write(toFile: tokenizer, atomically: true, encoding: .utf8)
        let changed = try ProcessRunner.execute(pretrain, ["checkpoint", "verify", dir])
        XCTAssertEqual(changed.status, 1, changed.output)
        XCTAssertEqual(changed.lines.count, 1, changed.output)
        XCTAssertTrue(changed.output.hasPrefix("error: \(tokenizer) has checksum xxh64:"), changed.output)
        XCTAssertTrue(changed.output.contains("but the manifest says \(try CheckpointReader(path: dir).manifest.tokenizerHash ?? "?")"), changed.output)
        try original.write(to: URL(fileURLWithPath: tokenizer))

        let manifest = dir + "/manifest.json"
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifest))) as? [String: Any])
        object["step"] = 999
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: manifest))
        let moved = try ProcessRunner.execute(pretrain, ["checkpoint", "verify", dir])
        XCTAssertEqual(moved.status, 1, moved.output)
        XCTAssertEqual(moved.lines, ["error: \(manifest) says step 999 but its directory is step-00000003: the manifest belongs to another "
                                     + "checkpoint or was edited; use an older checkpoint"])
    }

    func testMissingDirectoryNoManifestNewerFormatAndWrongModelAreOneLineErrors() throws {
        XCTAssertThrowsError(try CheckpointReader(path: "/nonexistent/ckpt")) { XCTAssertTrue("\($0)".contains("no such checkpoint directory"), "\($0)") }
        let empty = try CheckpointFixtures.temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try CheckpointReader(path: empty)) { XCTAssertTrue("\($0)".contains("no manifest.json"), "\($0)") }
        // A staging directory is never opened as a checkpoint.
        try FileManager.default.createDirectory(atPath: empty + "/step-00000004.tmp", withIntermediateDirectories: true)
        XCTAssertThrowsError(try CheckpointReader(path: empty))

        let (root, _) = try savedCheckpoint()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let manifestPath = root + "/step-00000003/manifest.json"
        let original = try String(contentsOfFile: manifestPath, encoding: .utf8)
        try original.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 2").write(toFile: manifestPath, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CheckpointReader(path: root)) {
            XCTAssertTrue("\($0)".contains("format version 2, newer than this pretrain reads (up to 1)"), "\($0)")
        }
        try original.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let reader = try CheckpointReader(path: root)
        var wider = model
        wider.dModel = 32
        XCTAssertThrowsError(try reader.manifest.checkMatches(GPTLayout(config: wider), directory: reader.directory)) {
            XCTAssertTrue("\($0)".contains("tensor transformer.wte.weight is [40, 32] in the config but the checkpoint has transformer.wte.weight [40, 16]"), "\($0)")
        }
        var deeper = model
        deeper.nLayer = 3
        XCTAssertThrowsError(try reader.manifest.checkMatches(GPTLayout(config: deeper), directory: reader.directory)) {
            XCTAssertTrue("\($0)".contains("transformer.h.2.ln_1.weight"), "the first mismatching tensor is named: \($0)")
        }
        XCTAssertNoThrow(try reader.manifest.checkMatches(GPTLayout(config: model), directory: reader.directory))
    }
}
