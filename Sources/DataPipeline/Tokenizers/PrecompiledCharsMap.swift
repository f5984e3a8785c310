import Foundation

/// SentencePiece's `precompiled_charsmap` (the `Precompiled` normalizer of T5's and other
/// SentencePiece models' `tokenizer.json`): a darts-clone double-array trie over UTF-8 keys
/// whose values point into a pool of NUL-terminated replacement strings.
///
/// Applied as Hugging Face applies it: each extended grapheme cluster shorter than 6 UTF-8 bytes
/// is replaced whole when a rule matches a prefix of it (the shortest match wins); otherwise each
/// scalar of the cluster is replaced by its own rule, or kept.
struct PrecompiledCharsMap {
    private let units: [UInt32]
    private let pool: [UInt8]

    /// Parses the base64 text of `precompiled_charsmap`; nil when it is not a valid charsmap.
    init?(base64: String) {
        guard let data = Data(base64Encoded: base64) else { return nil }
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { return nil }
        let trieSize = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        guard trieSize % 4 == 0, 4 + trieSize <= bytes.count else { return nil }
        units = stride(from: 4, to: 4 + trieSize, by: 4).map {
            UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24
        }
        pool = Array(bytes[(4 + trieSize)...])
        guard !units.isEmpty else { return nil }
    }

    private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The replacement of the shortest rule that is a prefix of `key`, if any.
    func transform<C: Collection>(_ key: C) -> ArraySlice<UInt8>? where C.Element == UInt8 {
        var node = Self.offset(units[0])
        for c in key {
            if c == 0 { return nil }
            node ^= Int(c)
            guard node < units.count else { return nil }
            let unit = units[node]
            if unit & ((1 << 31) | 0xFF) != UInt32(c) { return nil }
            node ^= Self.offset(unit)
            if (unit >> 8) & 1 == 1 {
                guard node < units.count else { return nil }
                let start = Int(units[node] & ((1 << 31) - 1))
                guard start <= pool.count else { return nil }
                let end = pool[start...].firstIndex(of: 0) ?? pool.count
                return pool[start..<end]
            }
        }
        return nil
    }

    /// The normalized text.
    func apply(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for grapheme in text {
            let utf8 = Array(grapheme.utf8)
            if utf8.count < 6, let replacement = transform(utf8) {
                out += replacement
                continue
            }
            for scalar in grapheme.unicodeScalars {
                let bytes = Array(String(scalar).utf8)
                if let replacement = transform(bytes) { out += replacement } else { out += bytes }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
