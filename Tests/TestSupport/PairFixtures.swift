import Config
import DataPipeline
import Foundation
import Model
import Support

/// A tiny translation task for `model.arch: transformer` tests: a byte-level tokenizer and JSON-lines
/// pair files whose target is the source reversed (learnable, not trivial), and a small config over them.
public enum PairFixtures {
    /// A fresh directory with tokenizer.json (the 256 bytes, then [PAD]… from `AddedToken.defaultSpecials`:
    /// <|endoftext|> is 256, [PAD] 257), train.jsonl (48 pairs) and val.jsonl (8 pairs).
    public static func data() throws -> String {
        let dir = NSTemporaryDirectory() + "transformer-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let added = AddedToken.defaultSpecials.enumerated().map { AddedToken(id: Int32(256 + $0.offset), content: $0.element) }
        try Tokenizer(tokens: (0..<256).map { [UInt8($0)] }, merges: [], addedTokens: added).save(to: dir + "/tokenizer.json")
        var rng = SplitMix64(seed: 4)
        for (split, count) in [("train", 48), ("val", 8)] {
            var lines: [String] = []
            for _ in 0..<count {
                let word = String((0..<(3 + Int(rng.next() % 6))).map { _ in Character(UnicodeScalar(UInt8(97 + rng.next() % 6))) })
                lines.append("{\"source\": \"\(word)\", \"target\": \"\(String(word.reversed()))\"}")
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/\(split).jsonl", atomically: true, encoding: .utf8)
        }
        return dir
    }

    /// A small Transformer over `dir`'s pairs: 2+1 layers, d 32, dropout 0.1, label smoothing 0.1,
    /// training.seq_len 10, micro-batch 2.
    public static func config(_ dir: String, processes: Int, accumulation: Int) -> RunConfig {
        var c = TrainingFixtures.config(data: dir, processes: processes, microBatch: 2, accumulation: accumulation,
                                        model: GPTConfig(vocabSize: 256 + AddedToken.defaultSpecials.count, maxSeqLen: 16, nLayer: 2, nHead: 2, dModel: 32))
        c.family.arch = .transformer
        c.family.numDecoderLayers = 1
        c.family.intermediateSize = 48
        c.model.residualDropout = 0.1
        c.model.labelSmoothing = 0.1
        c.training.seqLen = 10
        c.data.train = dir + "/train.jsonl"
        c.data.val = dir + "/val.jsonl"
        c.data.tokenizer = dir + "/tokenizer.json"
        c.logging.runDir = dir + "/run-\(processes)-\(accumulation)"
        c.optimizer.lr = 3e-3
        return c
    }
}
