import Checkpoint
import Foundation
import Kernels
import Model
import Support

/// Checkpoint compression ratio and speed per zstd level (with and without the byte-plane shuffle),
/// save and load MB/s of one rank, and the staging copy an async save costs, on a preset model after
/// a few real AdamW steps.
public enum CheckpointBenchmark {
    /// What to measure.
    public struct Settings: Sendable {
        public var preset: BenchPreset
        /// zstd levels for the ratio table.
        public var levels: [Int]
        /// The level for the save/load timing.
        public var level: Int
        /// Ranks the state is split over; this process is one of them.
        public var ranks: Int
        /// Real AdamW steps before measuring.
        public var trainSteps: Int
        /// MB of each buffer sampled for the ratio table.
        public var sampleMB: Int
        /// Timed repetitions of save and load.
        public var repeats: Int
        /// Scratch directory (removed afterwards).
        public var dir: String

        /// Checks the values (`levels` comma separated), throwing the command line's one-line messages.
        public init(preset: String, levels: String, level: Int, ranks: Int, trainSteps: Int, sampleMB: Int, repeats: Int, dir: String) throws {
            self.preset = try BenchPreset.named(preset)
            self.levels = try levels.split(separator: ",").map { text -> Int in
                guard let l = Int(text.trimmingCharacters(in: .whitespaces)), ZstdLibrary.levels.contains(l) else {
                    throw BenchmarkError("--levels: '\(text)' is not a zstd level (\(ZstdLibrary.levels))")
                }
                return l
            }
            guard ranks >= 1, repeats >= 1, trainSteps >= 0 else { throw BenchmarkError("--ranks and --repeats must be ≥ 1, --train-steps ≥ 0") }
            self.level = level
            self.ranks = ranks
            self.trainSteps = trainSteps
            self.sampleMB = sampleMB
            self.repeats = repeats
            self.dir = dir
        }
    }

    /// Ratio (raw / stored) and single-thread compression MB/s of one level, with and without shuffle.
    public struct LevelRow: Sendable {
        public var level: Int
        public var shuffled: (ratio: Double, mbPerSecond: Double)
        public var plain: (ratio: Double, mbPerSecond: Double)
    }

    /// One rank's save and load with one method.
    public struct RankTiming: Sendable {
        public var method: String
        /// Median seconds.
        public var save: Double, load: Double
        public var storedBytes: Int
    }

    /// What was measured.
    public struct Result: Sendable {
        public var settings: Settings
        public var parameters: Int
        /// Chunks of 4 MiB sampled per buffer for the ratio table.
        public var chunksPerBuffer: Int
        public var levels: [LevelRow]
        /// Floats in one rank's share of params, m and v.
        public var shareFloats: Int
        public var rank: [RankTiming]
        /// Median seconds of the staging copy.
        public var stall: Double
    }

    /// Trains the preset a few steps, then measures.
    public static func run(_ s: Settings) throws -> Result {
        let p = s.preset
        Parallel.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        let model = try GPT(config: p.config, maxBatch: 2, maxSeqLen: 64)
        model.initializeWeights(seed: 1337)
        let optimizer = try Optimizer(layout: model.layout, settings: Optimizer.Settings())
        var rng = SplitMix64(seed: 7)
        for _ in 0..<s.trainSteps {
            let tokens = (0..<128).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
            _ = try tokens.withUnsafeBufferPointer { x in
                try model.forward(tokens: x.baseAddress!, targets: x.baseAddress! + 1, B: 2, T: 63)
            }
            model.zeroGrad()
            model.backward()
            optimizer.step(params: model.params, grads: model.grads, lr: 6e-4, gradScale: optimizer.clipScale(gradNorm: Optimizer.gradNorm(model.grads)))
        }
        let count = model.layout.count
        let buffers = [model.params, optimizer.m, optimizer.v]

        // 1. Ratio and single-thread compression speed per level, on evenly spaced chunks of each buffer.
        let chunk = 1 << 20
        let chunksPerBuffer = max(1, min(count / chunk, s.sampleMB / 4))
        let stride = max(1, (count / chunk) / chunksPerBuffer)
        var rows: [LevelRow] = []
        for l in s.levels {
            var cells: [(Double, Double)] = []
            for shuffle in [true, false] {
                let codec = try ChunkCodec(method: .zstd, level: l, shuffle: shuffle, chunkElements: chunk)
                var raw = 0, stored = 0
                let start = DispatchTime.now().uptimeNanoseconds
                for buffer in buffers {
                    for k in 0..<chunksPerBuffer {
                        let at = k * stride * chunk
                        let n = min(chunk, count - at)
                        stored += try codec.encode(buffer.pointer + at, count: n).count
                        raw += n * 4
                    }
                }
                let seconds = Statistics.seconds(since: start)
                cells.append((Double(raw) / Double(stored), Double(raw) / 1e6 / seconds))
            }
            rows.append(LevelRow(level: l, shuffled: cells[0], plain: cells[1]))
        }

        // 2. One rank's save and load, through the real writer and reader.
        let share = CheckpointPlan.evenRange(count: count, parts: s.ranks, index: 0)
        let staging = try FlatBuffer(count: share.count * 3)
        var stalls: [Double] = []
        for _ in 0..<s.repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            for (i, buffer) in buffers.enumerated() {
                (staging.pointer + i * share.count).update(from: buffer.pointer + share.lowerBound, count: share.count)
            }
            stalls.append(Statistics.seconds(since: start))
        }
        try? FileManager.default.removeItem(atPath: s.dir)
        defer { try? FileManager.default.removeItem(atPath: s.dir) }
        var timings: [RankTiming] = []
        for method in [ChunkCodec.Method.zstd, .none] {
            var saves: [Double] = [], loads: [Double] = [], storedBytes = 0
            for r in 0..<s.repeats {
                let root = s.dir + "/\(method.rawValue)-\(r)"
                var options = LocalCheckpoint.Options()
                options.method = method
                options.level = s.level
                options.chunkElements = chunk
                let s0 = DispatchTime.now().uptimeNanoseconds
                // The share as a world-size-1 checkpoint of a `staging.count`-parameter "model": the same
                // writer, codec and fsync a rank's background thread runs.
                var shape = GPTConfig(vocabSize: staging.count - 2, maxSeqLen: 1, nLayer: 0, nHead: 1, dModel: 1)
                shape.positions = .sinusoidal  // no position table: wte + ln_f's 2 values = the share exactly
                let layout = GPTLayout(config: shape)
                let path = try LocalCheckpoint.save(root: root, step: 1, layout: layout, params: staging, m: nil, v: nil, options: options)
                saves.append(Statistics.seconds(since: s0))
                let reader = try CheckpointReader(path: path)
                storedBytes = reader.manifest.storedBytes
                let l0 = DispatchTime.now().uptimeNanoseconds
                try reader.readParameters(into: staging.buffer)
                loads.append(Statistics.seconds(since: l0))
                try? FileManager.default.removeItem(atPath: root)
            }
            timings.append(RankTiming(method: method.rawValue, save: saves.sorted()[saves.count / 2], load: loads.sorted()[loads.count / 2],
                                      storedBytes: storedBytes))
        }
        return Result(settings: s, parameters: count, chunksPerBuffer: chunksPerBuffer, levels: rows, shareFloats: staging.count,
                      rank: timings, stall: stalls.sorted()[stalls.count / 2])
    }
}

extension CheckpointBenchmark.Result {
    /// The report `pretrain bench checkpoint` prints.
    public var lines: [String] {
        let s = settings
        var lines = ["checkpoint benchmark: preset \(s.preset.rawValue), \(parameters) parameters (\(String(format: "%.2f", Double(parameters * 12) / 1e9)) GB params + m + v), zstd \(ZstdLibrary.version), \(s.trainSteps) AdamW steps",
                     "\nratio (raw / stored) and compression MB/s, one thread, \(chunksPerBuffer * 3) chunks of 4 MiB sampled from params, m, v:",
                     "level   shuffle: ratio  MB/s   | no shuffle: ratio  MB/s"]
        for row in levels {
            var line = String(format: "%5d  ", row.level)
            for cell in [row.shuffled, row.plain] { line += String(format: "%14.3f %6.0f   |", cell.ratio, cell.mbPerSecond) }
            lines.append(line)
        }
        let rawMB = Double(shareFloats * 4) / 1e6
        lines.append(String(format: "\none rank of %d: %.0f MB (its even share of params, m, v), level %d + shuffle, chunks of 4 MiB, %@", s.ranks, rawMB, s.level, s.dir))
        for t in rank {
            lines.append(String(format: "  %-5@ save %7.0f MB/s (%.2f s, stored %.0f MB, ratio %.3f)   load %7.0f MB/s (%.2f s, from the page cache)   [MB of raw float32]",
                                t.method, rawMB / t.save, t.save, Double(t.storedBytes) / 1e6, Double(shareFloats * 4) / Double(max(1, t.storedBytes)),
                                rawMB / t.load, t.load))
        }
        lines.append(String(format: "\nasync save stall (staging copy on the training thread): %.1f ms median of %d", stall * 1000, s.repeats))
        return lines
    }
}
