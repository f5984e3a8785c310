/// GPT-2's pre-tokenization split, as a hand-written scanner over UTF-8.
///
/// Matches the regular expression
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// exactly as the Python `tokenizers` library applies it (leftmost match, first alternative that
/// matches, every byte covered). The one case that needs care is `\s+(?!\S)`: a whitespace run
/// followed by a non-space keeps its last whitespace character for the next piece, so `"a   b"`
/// splits as `a`, `"  "`, `" b"`. Bytes that are not valid UTF-8 count as "other" symbols.
public struct GPT2PreTokenizer: Sendable {
    /// The splitter (stateless; the character-class table is shared).
    public init() {}

    /// The end (exclusive) of the piece that starts at `start` in `p[start..<end]`.
    @inline(__always)
    func pieceEnd(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ table: UnsafePointer<UInt8>) -> Int {
        let b0 = p[start]
        // Contractions: 's 't 'm 'd 're 've 'll (ASCII apostrophe, lower case only).
        if b0 == 0x27, start + 1 < end {
            let b1 = p[start + 1]
            if b1 == 0x73 || b1 == 0x74 || b1 == 0x6D || b1 == 0x64 { return start + 2 }
            if start + 2 < end {
                let b2 = p[start + 2]
                if (b1 == 0x72 && b2 == 0x65) || (b1 == 0x76 && b2 == 0x65) || (b1 == 0x6C && b2 == 0x6C) {
                    return start + 3
                }
            }
        }
        var (cls, length) = ScalarClass.decode(p, start, end, table)
        var runStart = start + length
        // An optional single space (U+0020) before a letter, number or other run.
        if b0 == 0x20, runStart < end {
            let next = ScalarClass.decode(p, runStart, end, table)
            if next.cls != ScalarClass.space.rawValue {
                cls = next.cls
                runStart += next.length
            }
        }
        if cls != ScalarClass.space.rawValue {
            var i = runStart
            while i < end {
                let b = p[i]
                if b < 0x80 {
                    if table[Int(b)] != cls { break }
                    i += 1
                } else {
                    let next = ScalarClass.decodeMultibyte(p, i, end, table)
                    if next.cls != cls { break }
                    i += next.length
                }
            }
            return i
        }
        // Whitespace: the whole run at the end of the text; otherwise all but its last character
        // (`\s+(?!\S)`), or the single character when the run is only one long (`\s+`).
        var lastStart = start
        var i = runStart
        while i < end {
            let next = ScalarClass.decode(p, i, end, table)
            if next.cls != ScalarClass.space.rawValue { break }
            lastStart = i
            i += next.length
        }
        if i == end || lastStart == start { return i }
        return lastStart
    }

    /// Calls `body(range)` for each piece of `bytes`, in order; the ranges cover every byte.
    public func forEachPiece(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        guard let p = bytes.baseAddress, !bytes.isEmpty else { return }
        ScalarClass.bmp.withUnsafeBufferPointer { table in
            var i = 0
            while i < bytes.count {
                let e = pieceEnd(p, i, bytes.count, table.baseAddress!)
                body(i..<e)
                i = e
            }
        }
    }

    /// The byte ranges of the pieces of `bytes`.
    public func split(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in forEachPiece(in: buffer) { ranges.append($0) } }
        return ranges
    }

    /// The pieces of a string (convenient for tests and inspection).
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return split(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }
}
