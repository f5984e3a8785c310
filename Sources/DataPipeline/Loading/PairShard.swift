import Foundation
import Support

/// Source → target pairs from JSON lines (`{"source": …, "target": …}` each), tokenized into one token
/// shard of fixed-width rows, so that `DistributedDataLoader` (sequence length S + T) reads exactly one
/// pair per sample, with its shuffling, rank slicing and resumable position unchanged.
///
/// Row layout (S + T tokens): the source's ids then EOS, padded to S with `pad`; then the target's ids
/// then EOS, padded to T with `pad`. A source or target longer than S − 1 (T − 1) tokens is cut to fit
/// (EOS is always kept) and counted. The shard holds rows·(S + T) + 1 tokens: the loader's sample s is
/// tokens s·(S + T) … s·(S + T) + S + T, whose first S + T are row s (the one extra token is padding).
/// Problems are one `DataError` line naming the file and line: not a JSON object, a missing or non-string
/// field, an empty target.
public enum PairShard {
    /// What `write` did: pairs written and how many had their source or target cut.
    public struct Summary: Equatable, Sendable {
        public var pairs: Int, truncatedSources: Int, truncatedTargets: Int
    }

    /// Reads the pairs of `path` (JSON lines), encodes them with `encode` (no special tokens) and writes
    /// the shard to `shardPath` atomically (same bytes from every rank). `wideTokens`: uint32 ids.
    @discardableResult
    public static func write(pairs path: String, encode: (String) -> [Int32], pad: Int32, eos: Int32, sourceLength S: Int,
                             targetLength T: Int, wideTokens: Bool, to shardPath: String,
                             sourceField: String = "source", targetField: String = "target") throws -> Summary {
        precondition(S >= 2 && T >= 2, "a pair row needs room for a token and EOS on each side")
        var tokens: [Int32] = [], summary = Summary(pairs: 0, truncatedSources: 0, truncatedTargets: 0)
        let shape = "each line must be {\"\(sourceField)\": \"…\", \"\(targetField)\": \"…\"}"
        var lineNumber = 0
        for line in try FileIO.readAll(path).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw DataError.badLine(path: path, line: lineNumber, problem: "not a JSON object; \(shape)")
            }
            guard let source = object[sourceField] as? String, let target = object[targetField] as? String else {
                let missing = object[sourceField] as? String == nil ? sourceField : targetField
                throw DataError.badLine(path: path, line: lineNumber, problem: "no \"\(missing)\" string; \(shape)")
            }
            guard !target.isEmpty else {
                throw DataError.badLine(path: path, line: lineNumber, problem: "the \"\(targetField)\" is empty; give every pair a target, or drop the line")
            }
            let (sourceRow, cutSource) = row(encode(source), length: S, pad: pad, eos: eos)
            let (targetRow, cutTarget) = row(encode(target), length: T, pad: pad, eos: eos)
            tokens += sourceRow
            tokens += targetRow
            summary.pairs += 1
            if cutSource { summary.truncatedSources += 1 }
            if cutTarget { summary.truncatedTargets += 1 }
        }
        guard summary.pairs > 0 else { throw DataError.invalidSetting(name: path, problem: "holds no pairs; \(shape)") }
        tokens.append(pad)
        try writeShard(tokens, wideTokens: wideTokens, to: shardPath)
        return summary
    }

    /// `ids` then EOS, cut to `length` (EOS kept) and padded; and whether it was cut.
    static func row(_ ids: [Int32], length: Int, pad: Int32, eos: Int32) -> ([Int32], Bool) {
        let kept = ids.prefix(length - 1)
        return (Array(kept) + [eos] + Array(repeating: pad, count: length - 1 - kept.count), kept.count < ids.count)
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
