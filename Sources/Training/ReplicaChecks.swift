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

    /// Throws, naming the ranks, when the ranks were started with different configs.
    static func checkSameConfig(_ config: RunConfig, comm: any Communicator) throws {
        guard comm.size > 1 else { return }
        let text = ConfigLoader.render(config)
        let hash = Array(text.utf8).withUnsafeBytes { Int64(bitPattern: fnv1a($0)) }
        var all = [Int64](repeating: 0, count: comm.size)
        try [hash].withUnsafeBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { try comm.allgatherv(mine, into: $0, counts: [Int](repeating: 1, count: comm.size)) }
        }
        let differing = all.indices.filter { all[$0] != all[0] }
        if !differing.isEmpty {
            throw TrainingError("ranks \(differing.map(String.init).joined(separator: ", ")) were started with a config different from rank 0's; start every rank with the same --config and --set flags")
        }
    }

    /// Throws, naming the diverged ranks, when the parameters differ between ranks.
    static func verifySameParameters(_ params: FlatBuffer, comm: any Communicator, step: Int) throws {
        guard comm.size > 1 else { return }
        let hash = Int64(bitPattern: fnv1a(UnsafeRawBufferPointer(params.buffer)))
        var all = [Int64](repeating: 0, count: comm.size)
        try [hash].withUnsafeBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { try comm.allgatherv(mine, into: $0, counts: [Int](repeating: 1, count: comm.size)) }
        }
        let differing = all.indices.filter { all[$0] != all[0] }
        if !differing.isEmpty {
            throw TrainingError("at step \(step) the parameters of ranks \(differing.map(String.init).joined(separator: ", ")) differ from rank 0's; the replicas diverged (a rank-dependent computation or a faulty node)")
        }
    }
}
