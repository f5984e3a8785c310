import ArgumentParser
import Checkpoint
import Foundation
import Kernels
import Model
import Support

/// `pretrain bench checkpoint`: compression ratio and speed per zstd level (with and without the
/// byte-plane shuffle), save and load MB/s of one rank, and the staging copy an async save costs.
struct BenchCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Measure checkpoint compression ratio per level, save/load MB/s per rank and the async-save stall.",
        discussion: """
        The state is a preset model (m: GPT-2 124M shape, about 1.5 GB of float32 for parameters + AdamW
        m + v) after --train-steps real AdamW steps on random tokens (B 2, T 64), so the moments are
        those of an early run. One process stands for one rank of --ranks: it writes and reads that
        rank's share (an even 1/ranks of the three buffers) with one thread, as a rank's background
        writer does. The stall is the copy of that share into the staging buffer on the training thread.
        Example: pretrain bench checkpoint --preset m --ranks 2 --dir /tmp/ckpt-bench
        """)

    @Option(help: "Model preset: s or m.") var preset: String = "m"
    @Option(help: "zstd levels for the ratio table (comma separated; negative = fast modes).") var levels: String = "-5,-3,-1,1,2,3"
    @Option(help: "The level for the save/load timing.") var level: Int = 1
    @Option(help: "Ranks the state is split over; this process is one of them.") var ranks: Int = 2
    @Option(help: "Real AdamW steps before measuring (realistic moments).") var trainSteps: Int = 3
    @Option(help: "MB of each buffer sampled for the ratio table (evenly spaced 4 MiB chunks).") var sampleMB: Int = 96
    @Option(help: "Timed repetitions of save and load (the median is reported).") var repeats: Int = 3
    @Option(help: "Scratch directory for the shard files (removed afterwards).") var dir: String = NSTemporaryDirectory() + "pretrain-bench-checkpoint"

    func run() throws {
        guard let p = BenchPreset(rawValue: preset.lowercased()) else { throw CLIError("--preset \(preset) is not a preset; use s or m") }
        let levelList = try levels.split(separator: ",").map { text -> Int in
            guard let l = Int(text.trimmingCharacters(in: .whitespaces)), ZstdLibrary.levels.contains(l) else {
                throw CLIError("--levels: '\(text)' is not a zstd level (\(ZstdLibrary.levels))")
            }
            return l
        }
        guard ranks >= 1, repeats >= 1, trainSteps >= 0 else { throw CLIError("--ranks and --repeats must be ≥ 1, --train-steps ≥ 0") }
        Parallel.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        let model = try GPT(config: p.config, maxBatch: 2, maxSeqLen: 64)
        model.initializeWeights(seed: 1337)
        let optimizer = AdamWOptimizer(layout: model.layout, settings: AdamWOptimizer.Settings())
        var rng = SplitMix64(seed: 7)
        for _ in 0..<trainSteps {
            let tokens = (0..<128).map { _ in Int32(rng.next() % UInt64(p.config.vocabSize)) }
            _ = try tokens.withUnsafeBufferPointer { x in
                try model.forward(tokens: x.baseAddress!, targets: x.baseAddress! + 1, B: 2, T: 63)
            }
            model.zeroGrad()
            model.backward()
            optimizer.step(params: model.params, grads: model.grads, lr: 6e-4, gradScale: optimizer.clipScale(gradNorm: AdamWOptimizer.gradNorm(model.grads)))
        }
        let count = model.layout.count
        print("checkpoint benchmark: preset \(p.rawValue), \(count) parameters (\(String(format: "%.2f", Double(count * 12) / 1e9)) GB params + m + v), zstd \(ZstdLibrary.version), \(trainSteps) AdamW steps")

        // 1. Ratio and single-thread compression speed per level, on evenly spaced chunks of each buffer.
        let chunk = 1 << 20
        let chunksPerBuffer = max(1, min(count / chunk, sampleMB / 4))
        let stride = max(1, (count / chunk) / chunksPerBuffer)
        print("\nratio (raw / stored) and compression MB/s, one thread, \(chunksPerBuffer * 3) chunks of 4 MiB sampled from params, m, v:")
        print("level   shuffle: ratio  MB/s   | no shuffle: ratio  MB/s")
        for l in levelList {
            var line = String(format: "%5d  ", l)
            for shuffle in [true, false] {
                let codec = try ChunkCodec(method: .zstd, level: l, shuffle: shuffle, chunkElements: chunk)
                var raw = 0, stored = 0
                let start = DispatchTime.now().uptimeNanoseconds
                for buffer in [model.params, optimizer.m, optimizer.v] {
                    for k in 0..<chunksPerBuffer {
                        let at = k * stride * chunk
                        let n = min(chunk, count - at)
                        stored += try codec.encode(buffer.pointer + at, count: n).count
                        raw += n * 4
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                line += String(format: "%14.3f %6.0f   |", Double(raw) / Double(stored), Double(raw) / 1e6 / seconds)
            }
            print(line)
        }

        // 2. One rank's save and load, through the real writer and reader.
        let share = CheckpointPlan.evenRange(count: count, parts: ranks, index: 0)
        let staging = FlatBuffer(count: share.count * 3)
        var stalls: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            for (i, buffer) in [model.params, optimizer.m, optimizer.v].enumerated() {
                (staging.pointer + i * share.count).update(from: buffer.pointer + share.lowerBound, count: share.count)
            }
            stalls.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rawMB = Double(staging.count * 4) / 1e6
        print(String(format: "\none rank of %d: %.0f MB (its even share of params, m, v), level %d + shuffle, chunks of 4 MiB, %@", ranks, rawMB, level, dir))
        for method in [ChunkCodec.Method.zstd, .none] {
            var saves: [Double] = [], loads: [Double] = [], storedBytes = 0
            for r in 0..<repeats {
                let root = dir + "/\(method.rawValue)-\(r)"
                var options = LocalCheckpoint.Options()
                options.method = method
                options.level = level
                options.chunkElements = chunk
                let s0 = DispatchTime.now().uptimeNanoseconds
                // The share as a world-size-1 checkpoint of a `staging.count`-parameter "model": the same
                // writer, codec and fsync a rank's background thread runs.
                var shape = GPTConfig(vocabSize: staging.count - 2, maxSeqLen: 1, nLayer: 0, nHead: 1, dModel: 1)
                shape.positions = .sinusoidal  // no position table: wte + ln_f's 2 values = the share exactly
                let layout = GPTLayout(config: shape)
                let path = try LocalCheckpoint.save(root: root, step: 1, layout: layout, params: staging, m: nil, v: nil, options: options)
                saves.append(Double(DispatchTime.now().uptimeNanoseconds - s0) / 1e9)
                let reader = try CheckpointReader(path: path)
                storedBytes = reader.manifest.storedBytes
                let l0 = DispatchTime.now().uptimeNanoseconds
                try reader.readParameters(into: staging.buffer)
                loads.append(Double(DispatchTime.now().uptimeNanoseconds - l0) / 1e9)
                try? FileManager.default.removeItem(atPath: root)
            }
            let save = saves.sorted()[saves.count / 2], load = loads.sorted()[loads.count / 2]
            print(String(format: "  %-5@ save %7.0f MB/s (%.2f s, stored %.0f MB, ratio %.3f)   load %7.0f MB/s (%.2f s, from the page cache)   [MB of raw float32]",
                         method.rawValue, rawMB / save, save, Double(storedBytes) / 1e6, Double(staging.count * 4) / Double(max(1, storedBytes)),
                         rawMB / load, load))
        }
        let stall = stalls.sorted()[stalls.count / 2]
        print(String(format: "\nasync save stall (staging copy on the training thread): %.1f ms median of %d", stall * 1000, repeats))
    }
}
