import ArgumentParser
import Checkpoint
import Foundation

/// `pretrain checkpoint verify DIR`: decodes every shard and checks sizes and checksums.
struct CheckpointVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "Check every shard of a checkpoint (size, zstd frames, XXH64 checksum), its tokenizer.json checksum and its step; exit 1 naming the bad file.")

    @OptionGroup var checkpoint: CheckpointArgument

    func run() throws {
        let start = Date()
        let reader = try checkpoint.open()
        let shards = try reader.verify()
        let raw = shards.reduce(0) { $0 + $1.rawBytes }
        print(String(format: "ok: %@ — %d shard(s), %.1f MB verified in %.2f s", reader.directory, shards.count, Double(raw) / 1e6,
                     Date().timeIntervalSince(start)))
    }
}
