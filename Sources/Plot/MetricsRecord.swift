import Foundation

/// One line of a run's metrics file (`<run_dir>/metrics/rank-NNNNN.jsonl`), as `pretrain train` writes
/// it with `JSONEncoder` and `pretrain plot` reads it with `JSONDecoder`.
///
/// Three kinds share the line format. A step record holds rank, step, loss, lr, grad_norm,
/// tokens_per_s, mfu, step_ms, compute_ms, comm_ms, exposed_comm_ms, grad_sync_ms, grad_sync_bytes,
/// skipped, elapsed_s; an eval record rank, step, val_loss, val_perplexity, elapsed_s; a checkpoint
/// record checkpoint (saved, resumed, …), step, path, stored_bytes, raw_bytes, stall_ms, write_ms,
/// commit_ms. A fine-tuning run's eval record adds val_accuracy (the share of held-out texts
/// classified right) and val_baseline_accuracy (what always answering the training set's most
/// frequent label scores on them); they are left out where nothing measured them. Every other key of its kind is written (keys sorted, so that a line is the same on every
/// platform); a number that is not finite is null.
/// Reading is lenient: a key that is missing or has the wrong type reads as nil.
public struct MetricsRecord: Codable, Sendable, Equatable {
    /// Which keys a record has.
    public enum Kind: Sendable, Equatable {
        case step, eval, checkpoint
        /// Read from a line that has none of `loss`, `val_loss` and `checkpoint`.
        case other
    }

    public var kind: Kind
    public var rank: Int?
    public var step: Int?
    public var loss: Double?
    public var lr: Double?
    public var gradNorm: Double?
    public var tokensPerSecond: Double?
    public var mfu: Double?
    public var stepMs: Double?
    public var computeMs: Double?
    /// Transport busy time.
    public var commMs: Double?
    /// What the step waited for.
    public var exposedCommMs: Double?
    public var gradSyncMs: Double?
    public var gradSyncBytes: Int?
    public var skipped: Bool?
    public var valLoss: Double?
    public var valPerplexity: Double?
    /// A classifier's held-out accuracy (fine-tuning).
    public var valAccuracy: Double?
    /// The majority-class baseline's accuracy on the same held-out texts (fine-tuning).
    public var valBaselineAccuracy: Double?
    /// Seconds since the run started.
    public var elapsedS: Double?
    /// The checkpoint event: saved, resumed, fresh, skipped or preempted.
    public var checkpoint: String?
    public var path: String?
    public var storedBytes: Int?
    public var rawBytes: Int?
    public var stallMs: Double?
    public var writeMs: Double?
    public var commitMs: Double?

    /// An empty record of `kind`; set the fields of that kind.
    public init(kind: Kind) { self.kind = kind }

    enum CodingKeys: String, CodingKey {
        case rank, step, loss, lr, gradNorm = "grad_norm", tokensPerSecond = "tokens_per_s", mfu, stepMs = "step_ms", computeMs = "compute_ms"
        case commMs = "comm_ms", exposedCommMs = "exposed_comm_ms", gradSyncMs = "grad_sync_ms", gradSyncBytes = "grad_sync_bytes"
        case skipped, valLoss = "val_loss", valPerplexity = "val_perplexity", valAccuracy = "val_accuracy", valBaselineAccuracy = "val_baseline_accuracy", elapsedS = "elapsed_s"
        case checkpoint, path, storedBytes = "stored_bytes", rawBytes = "raw_bytes", stallMs = "stall_ms", writeMs = "write_ms", commitMs = "commit_ms"
    }

    /// The keys of each kind.
    static func keys(_ kind: Kind) -> [CodingKeys] {
        switch kind {
        case .step: [.rank, .step, .loss, .lr, .gradNorm, .tokensPerSecond, .mfu, .stepMs, .computeMs, .commMs, .exposedCommMs,
                     .gradSyncMs, .gradSyncBytes, .skipped, .elapsedS]
        case .eval: [.rank, .step, .valLoss, .valPerplexity, .valAccuracy, .valBaselineAccuracy, .elapsedS]
        case .checkpoint: [.checkpoint, .step, .path, .storedBytes, .rawBytes, .stallMs, .writeMs, .commitMs]
        case .other: []
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = c.contains(.checkpoint) ? .checkpoint : c.contains(.valLoss) ? .eval : c.contains(.loss) ? .step : .other
        func int(_ key: CodingKeys) -> Int? { (try? c.decodeIfPresent(Int.self, forKey: key)) ?? nil }
        func double(_ key: CodingKeys) -> Double? { (try? c.decodeIfPresent(Double.self, forKey: key)) ?? nil }
        (rank, step, gradSyncBytes, storedBytes, rawBytes) = (int(.rank), int(.step), int(.gradSyncBytes), int(.storedBytes), int(.rawBytes))
        (loss, lr, gradNorm, tokensPerSecond, mfu) = (double(.loss), double(.lr), double(.gradNorm), double(.tokensPerSecond), double(.mfu))
        (stepMs, computeMs, commMs, exposedCommMs, gradSyncMs) = (double(.stepMs), double(.computeMs), double(.commMs), double(.exposedCommMs), double(.gradSyncMs))
        (valLoss, valPerplexity, valAccuracy, elapsedS) = (double(.valLoss), double(.valPerplexity), double(.valAccuracy), double(.elapsedS))
        valBaselineAccuracy = double(.valBaselineAccuracy)
        (stallMs, writeMs, commitMs) = (double(.stallMs), double(.writeMs), double(.commitMs))
        skipped = (try? c.decodeIfPresent(Bool.self, forKey: .skipped)) ?? nil
        checkpoint = (try? c.decodeIfPresent(String.self, forKey: .checkpoint)) ?? nil
        path = (try? c.decodeIfPresent(String.self, forKey: .path)) ?? nil
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        // Every key of the kind (null when nil); a record of no known kind writes what it has.
        let keys = kind == .other ? Self.keys(.step) + Self.keys(.eval) + Self.keys(.checkpoint) : Self.keys(kind)
        var written = Set<String>()
        for key in keys where written.insert(key.stringValue).inserted {
            switch key {
            case .rank: try encode(rank, key, &c)
            case .step: try encode(step, key, &c)
            case .loss: try encode(loss, key, &c)
            case .lr: try encode(lr, key, &c)
            case .gradNorm: try encode(gradNorm, key, &c)
            case .tokensPerSecond: try encode(tokensPerSecond, key, &c)
            case .mfu: try encode(mfu, key, &c)
            case .stepMs: try encode(stepMs, key, &c)
            case .computeMs: try encode(computeMs, key, &c)
            case .commMs: try encode(commMs, key, &c)
            case .exposedCommMs: try encode(exposedCommMs, key, &c)
            case .gradSyncMs: try encode(gradSyncMs, key, &c)
            case .gradSyncBytes: try encode(gradSyncBytes, key, &c)
            case .skipped: try encode(skipped, key, &c)
            case .valLoss: try encode(valLoss, key, &c)
            case .valPerplexity: try encode(valPerplexity, key, &c)
            case .valAccuracy: try c.encodeIfPresent(valAccuracy, forKey: key)
            case .valBaselineAccuracy: try c.encodeIfPresent(valBaselineAccuracy, forKey: key)
            case .elapsedS: try encode(elapsedS, key, &c)
            case .checkpoint: try encode(checkpoint, key, &c)
            case .path: try encode(path, key, &c)
            case .storedBytes: try encode(storedBytes, key, &c)
            case .rawBytes: try encode(rawBytes, key, &c)
            case .stallMs: try encode(stallMs, key, &c)
            case .writeMs: try encode(writeMs, key, &c)
            case .commitMs: try encode(commitMs, key, &c)
            }
        }
    }

    /// Writes `value` (null when nil, or leaves it out when nil in a record of no known kind).
    private func encode<T: Encodable>(_ value: T?, _ key: CodingKeys, _ c: inout KeyedEncodingContainer<CodingKeys>) throws {
        if kind == .other { try c.encodeIfPresent(value, forKey: key) } else { try c.encode(value, forKey: key) }
    }

    /// The record as one line of JSON (no newline), its numbers `rounded()`.
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(rounded()), as: UTF8.self)
    }
}
