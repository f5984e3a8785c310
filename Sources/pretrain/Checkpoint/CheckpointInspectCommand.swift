import ArgumentParser
import Checkpoint
import Config
import Foundation

/// `pretrain checkpoint inspect DIR`: step, config summary, shards, sizes and compression ratio.
struct CheckpointInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint: step, tokens, model, world size, shards, sizes and compression ratio.")

    @OptionGroup var checkpoint: CheckpointArgument

    func run() throws {
        let reader = try checkpoint.open()
        let m = reader.manifest
        let config = try checkpointConfig(reader)
        let mb = { (bytes: Int) in String(format: "%.2f MB", Double(bytes) / 1e6) }
        let ratio = { (raw: Int, stored: Int) in stored > 0 ? String(format: "%.3f", Double(raw) / Double(stored)) : "-" }
        let model = config.model
        print("checkpoint \(reader.directory)")
        print("  format version \(m.formatVersion), saved \(m.created)")
        print("  step \(m.step), tokens seen \(m.tokensSeen), AdamW step \(m.optimizerStep)\(m.hasOptimizerState ? "" : " (no optimizer state)")")
        print("  model: \(m.parameterCount) parameters in \(m.tensors.count) tensors; vocab \(model.vocabSize), n_layer \(model.nLayer), n_head \(model.nHead), d_model \(model.dModel), max_seq_len \(model.maxSeqLen)")
        print("  training: micro_batch \(config.training.microBatch), seq_len \(config.training.seqLen), steps \(config.training.steps), lr \(config.optimizer.lr), seed \(config.training.seed)")
        print("  saved by \(m.worldSize) rank(s)\(m.zero1 ? " with ZeRO-1 moments" : ""); compression \(m.compression.rawValue)\(m.compression == .zstd ? " level \(m.level)\(m.shuffle ? " + byte-plane shuffle" : "")" : ""), chunks of \(m.chunkElements) values")
        print("  tokenizer: \(reader.tokenizerPath != nil ? "tokenizer.json (\(m.tokenizerHash ?? "?"))" : "none")")
        if let p = m.dataPositions.first {
            print("  data: epoch \(p.epoch), shard \(p.shard), sample \(p.sample), \(p.sequencesRead) sequences read")
        }
        print("  shards:")
        for s in m.shards {
            let parts = [CheckpointManifest.Buffer.params, .m, .v].compactMap { b -> String? in
                let n = s.segments.filter { $0.buffer == b }.reduce(0) { $0 + $1.count }
                return n > 0 ? "\(b.rawValue) \(n)" : nil
            }.joined(separator: ", ")
            print("    \(s.file)  \(parts)  raw \(mb(s.rawBytes)) → \(mb(s.storedBytes))  ratio \(ratio(s.rawBytes, s.storedBytes))  \(s.checksum)")
        }
        print("  total: raw \(mb(m.rawBytes)) → stored \(mb(m.storedBytes)), ratio \(ratio(m.rawBytes, m.storedBytes))")
    }
}
