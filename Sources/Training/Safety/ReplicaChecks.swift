import Config
import Distributed
import Model

/// Cross-rank consistency checks: same config everywhere, same parameters everywhere.
extension Trainer {
    /// FNV-1a 64-bit hash of bytes.
    static func fnv1a(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var h = seed
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// A 64-bit hash of a parameter buffer's bits: four independent multiply-rotate lanes over 64-bit
    /// words (about a word per cycle, so a 124M-parameter model hashes in tens of milliseconds).
    /// Any single flipped bit changes it.
    static func parameterHash(_ values: UnsafeMutableBufferPointer<Float>) -> UInt64 {
        let raw = UnsafeRawBufferPointer(values)
        guard let base = raw.baseAddress else { return 0 }
        let words = raw.count / 8
        let prime: UInt64 = 0x9E37_79B9_7F4A_7C15
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344,
                                                       0xA409_3822_299F_31D0, 0x082E_FA98_EC4E_6C89)
        @inline(__always) func mix(_ h: UInt64, _ w: UInt64) -> UInt64 {
            let x = (h ^ w) &* prime
            return (x << 29) | (x >> 35)
        }
        var i = 0
        while i + 4 <= words {
            lanes.0 = mix(lanes.0, base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
            lanes.1 = mix(lanes.1, base.loadUnaligned(fromByteOffset: i * 8 + 8, as: UInt64.self))
            lanes.2 = mix(lanes.2, base.loadUnaligned(fromByteOffset: i * 8 + 16, as: UInt64.self))
            lanes.3 = mix(lanes.3, base.loadUnaligned(fromByteOffset: i * 8 + 24, as: UInt64.self))
            i += 4
        }
        var h = mix(mix(mix(mix(UInt64(raw.count), lanes.0), lanes.1), lanes.2), lanes.3)
        while i < words {
            h = mix(h, base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))
            i += 1
        }
        if raw.count % 8 != 0 { h = fnv1a(UnsafeRawBufferPointer(rebasing: raw[(words * 8)...]), seed: h) }
        return h
    }

    /// Throws, naming the ranks, when the ranks were started with different configs.
    static func checkSameConfig(_ config: RunConfig, comm: any Communicator) throws {
        guard comm.size > 1 else { return }
        let text = ConfigLoader.render(config)
        let hash = Array(text.utf8).withUnsafeBytes { Int64(bitPattern: fnv1a($0)) }
        let differing = try ranksDiffering(from: hash, comm: comm)
        if !differing.isEmpty {
            throw TrainingError("ranks \(differing.map(String.init).joined(separator: ", ")) were started with a config different from rank 0's; start every rank with the same --config and --set flags")
        }
    }

    /// Throws, naming the diverged ranks, when the parameters differ between ranks: every rank hashes
    /// its parameters and the hashes are all-gathered (8 bytes per rank), so each rank can name the
    /// ranks that differ from rank 0.
    static func verifySameParameters(_ params: FlatBuffer, comm: any Communicator, step: Int) throws {
        guard comm.size > 1 else { return }
        let hash = Int64(bitPattern: parameterHash(params.buffer))
        let differing = try ranksDiffering(from: hash, comm: comm)
        if !differing.isEmpty {
            throw TrainingError("at step \(step) the parameters of ranks \(differing.map(String.init).joined(separator: ", ")) differ from rank 0's; the replicas diverged (a rank-dependent computation or a faulty node)")
        }
    }

    /// The ranks whose `hash` differs from rank 0's: every rank's 8 bytes are all-gathered.
    private static func ranksDiffering(from hash: Int64, comm: any Communicator) throws -> [Int] {
        var all = [Int64](repeating: 0, count: comm.size)
        try [hash].withUnsafeBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { try comm.allgatherv(mine, into: $0, counts: [Int](repeating: 1, count: comm.size)) }
        }
        return all.indices.filter { all[$0] != all[0] }
    }
}
