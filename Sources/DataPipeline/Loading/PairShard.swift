import Foundation
import Support

/// Source → target pairs (`Seq2SeqPairs`, read from JSON lines) tokenized into one token shard of
/// fixed-width rows, so that `DistributedDataLoader` (sequence length S + T) reads exactly one pair per
/// sample, with its shuffling, rank slicing and resumable position unchanged.
///
/// Row layout (S + T tokens): the source's ids then EOS, padded to S with `pad`; then the target's ids
/// then EOS, padded to T with `pad`. A source or target longer than S − 1 (T − 1) tokens is cut to fit
/// (`PairFitting`'s truncation: EOS is always kept) and counted. The shard holds rows·(S + T) + 1
/// tokens: the loader's sample s is tokens s·(S + T) … s·(S + T) + S + T, whose first S + T are row s
/// (the one extra token is padding).
public enum PairShard {
    /// What `write` did: pairs written and how many had their source or target cut.
    public struct Summary: Equatable, Sendable {
        public var pairs: Int, truncatedSources: Int, truncatedTargets: Int
    }

    /// Encodes `pairs` with `encode` (no special tokens) and writes the shard to `shardPath` atomically
    /// (same bytes from every rank). `wideTokens`: uint32 ids.
    @discardableResult
    public static func write(_ pairs: Seq2SeqPairs, encode: (String) -> [Int32], pad: Int32, eos: Int32, sourceLength S: Int,
                             targetLength T: Int, wideTokens: Bool, to shardPath: String) throws -> Summary {
        precondition(S >= 2 && T >= 2, "a pair row needs room for a token and EOS on each side")
        let fitting = PairFitting(sourceLength: S, targetLength: T, eos: eos, overflow: .truncate)
        var tokens: [Int32] = [], summary = Summary(pairs: 0, truncatedSources: 0, truncatedTargets: 0)
        tokens.reserveCapacity(pairs.count * (S + T) + 1)
        for i in 0..<pairs.count {
            let row = try fitting.fit(source: encode(pairs.sources[i]), target: encode(pairs.targets[i]), pair: "\(pairs.path):\(pairs.lines[i])")
            tokens += row.source + Array(repeating: pad, count: S - row.source.count)
            tokens += row.target + Array(repeating: pad, count: T - row.target.count)
            summary.pairs += 1
            if row.cutSource { summary.truncatedSources += 1 }
            if row.cutTarget { summary.truncatedTargets += 1 }
        }
        tokens.append(pad)
        try writeShard(tokens, wideTokens: wideTokens, to: shardPath)
        return summary
    }

    /// An llm.c-format shard (`ShardHeader` then uint16 or uint32 ids) written through a temporary file.
    private static func writeShard(_ tokens: [Int32], wideTokens: Bool, to path: String) throws {
        var bytes = ShardHeader(tokenCount: tokens.count, wideTokens: wideTokens).encoded()
        bytes.reserveCapacity(bytes.count + tokens.count * (wideTokens ? 4 : 2))
        for t in tokens {
            let v = UInt32(bitPattern: t)
            for k in 0..<(wideTokens ? 4 : 2) { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
        }
        let directory = (path as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw DataError.io(path: directory, problem: "cannot create the directory (\(error.localizedDescription))")
        }
        do { try AtomicFile.write(bytes, to: path) } catch {
            throw DataError.io(path: path, problem: "\(error.what): \(error.reason)")
        }
    }
}
