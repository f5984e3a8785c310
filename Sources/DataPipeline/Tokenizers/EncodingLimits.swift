import Foundation

/// The `truncation` and `padding` of a `tokenizer.json`, which the Python library's `encode`
/// applies (sentence-transformers' files truncate and pad to 128, for example).
///
/// Truncation (before the special tokens are added, leaving room for them): `LongestFirst`,
/// `OnlyFirst` or `OnlySecond`, from the right or the left; overflowing pieces (`stride`) are not
/// kept. Padding (after): to a `Fixed` length or, for one encoding, `BatchLongest` (its own
/// length), rounded up to `pad_to_multiple_of`, on the right or the left.
struct EncodingLimits {
    struct Truncation {
        var maxLength: Int
        var strategy: String
        var fromLeft: Bool
    }

    struct Padding {
        var fixed: Int?
        var multiple: Int?
        var onLeft: Bool
        var id: Int32
        var typeId: Int32
    }

    var truncation: Truncation?
    var padding: Padding?

    /// Parses the file's `truncation` and `padding` (null: none).
    static func parse(_ root: [String: Any], path: String) throws -> EncodingLimits {
        var limits = EncodingLimits()
        if let t = root["truncation"] as? [String: Any] {
            let strategy = t["strategy"] as? String ?? "LongestFirst"
            guard ["LongestFirst", "OnlyFirst", "OnlySecond"].contains(strategy) else {
                throw DataError.unsupportedTokenizer(path: path, feature: "truncation strategy \(strategy)")
            }
            limits.truncation = Truncation(maxLength: (t["max_length"] as? NSNumber)?.intValue ?? 512, strategy: strategy,
                                           fromLeft: t["direction"] as? String == "Left")
        }
        if let p = root["padding"] as? [String: Any] {
            var fixed: Int? = nil
            if let strategy = p["strategy"] as? [String: Any] {
                fixed = (strategy["Fixed"] as? NSNumber)?.intValue
            }
            limits.padding = Padding(fixed: fixed, multiple: (p["pad_to_multiple_of"] as? NSNumber)?.intValue,
                                     onLeft: p["direction"] as? String == "Left", id: (p["pad_id"] as? NSNumber)?.int32Value ?? 0,
                                     typeId: (p["pad_type_id"] as? NSNumber)?.int32Value ?? 0)
        }
        return limits
    }

    /// Truncates `a` and `b` so that they and `added` special tokens fit `max_length`.
    func truncate(_ a: inout [Int32], _ b: inout [Int32]?, added: Int) {
        guard let t = truncation else { return }
        let max = Swift.max(0, t.maxLength - added)
        let total = a.count + (b?.count ?? 0)
        guard total > max else { return }
        func cut(_ ids: inout [Int32], to n: Int) {
            guard n < ids.count else { return }
            ids = t.fromLeft ? Array(ids.suffix(n)) : Array(ids.prefix(n))
        }
        let remove = total - max
        switch (t.strategy, b) {
        case ("LongestFirst", .some(var second)):
            var n1 = a.count, n2 = second.count
            let swapped = n1 > n2
            if swapped { swap(&n1, &n2) }
            n2 = n1 > max ? n1 : Swift.max(n1, max - n1)
            if n1 + n2 > max {
                n1 = max / 2
                n2 = n1 + max % 2
            }
            if swapped { swap(&n1, &n2) }
            cut(&a, to: n1)
            cut(&second, to: n2)
            b = second
        case ("OnlySecond", .some(var second)):
            if second.count > remove { cut(&second, to: second.count - remove) }
            b = second
        default:
            if a.count > remove { cut(&a, to: a.count - remove) }
        }
    }

    /// Pads the final ids and type ids.
    func pad(_ ids: inout [Int32], _ types: inout [Int32]) {
        guard let p = padding else { return }
        var target = p.fixed ?? ids.count
        if let multiple = p.multiple, multiple > 0, target % multiple != 0 { target += multiple - target % multiple }
        guard target > ids.count else { return }
        let extra = target - ids.count
        if p.onLeft {
            ids = [Int32](repeating: p.id, count: extra) + ids
            types = [Int32](repeating: p.typeId, count: extra) + types
        } else {
            ids += [Int32](repeating: p.id, count: extra)
            types += [Int32](repeating: p.typeId, count: extra)
        }
    }
}
