import Foundation

/// The text handling sacreBLEU does before counting n-grams, on Unicode scalars as Python's `str`:
/// whitespace splitting as `str.split()` and the `13a` tokenizer (mteval-v13a, WMT's).
enum SacreText {
    /// Python's `str.isspace()`: Unicode White_Space plus the separators U+001C…U+001F.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// `line.split()`: the runs of non-whitespace scalars.
    static func split(_ line: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        line.split(whereSeparator: isSpace).map(Array.init)
    }

    /// sacreBLEU's `BLEU` preprocessing of one segment: `rstrip()`, then `Tokenizer13a` (the `&quot;`
    /// `&amp;` `&lt;` `&gt;` entities unescaped, punctuation and symbols split off, periods and commas
    /// split unless between digits, a dash after a digit split), returned as its tokens.
    static func tokens13a(_ text: String) -> [[Unicode.Scalar]] {
        var line = text
        while let last = line.unicodeScalars.last, isSpace(last) { line.unicodeScalars.removeLast() }
        line = line.replacingOccurrences(of: "<skipped>", with: "").replacingOccurrences(of: "-\n", with: "").replacingOccurrences(of: "\n", with: " ")
        if line.contains("&") {
            for (entity, plain) in [("&quot;", "\""), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")] {
                line = line.replacingOccurrences(of: entity, with: plain)
            }
        }
        var s = [Unicode.Scalar(" ")] + Array(line.unicodeScalars) + [Unicode.Scalar(" ")]
        // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) → ' \1 '
        var out: [Unicode.Scalar] = []
        for c in s {
            let v = c.value
            if (0x7B...0x7E).contains(v) || (0x5B...0x60).contains(v) || (0x20...0x26).contains(v) || (0x28...0x2B).contains(v)
                || (0x3A...0x40).contains(v) || v == 0x2F {
                out += [" ", c, " "]
            } else {
                out.append(c)
            }
        }
        s = out
        func digit(_ c: Unicode.Scalar) -> Bool { (0x30...0x39).contains(c.value) }
        func periodOrComma(_ c: Unicode.Scalar) -> Bool { c == "." || c == "," }
        // ([^0-9])([\.,]) → '\1 \2 ';  ([\.,])([^0-9]) → ' \1 \2';  ([0-9])(-) → '\1 \2 ' (each one left-to-right pass)
        s = substitute(s) { a, b in !digit(a) && periodOrComma(b) ? [a, " ", b, " "] : nil }
        s = substitute(s) { a, b in periodOrComma(a) && !digit(b) ? [" ", a, " ", b] : nil }
        s = substitute(s) { a, b in digit(a) && b == "-" ? [a, " ", b, " "] : nil }
        return split(s)
    }

    /// One `re.sub` of a two-scalar pattern: scanning left to right, each non-overlapping match (a, b)
    /// is replaced by `replace(a, b)`.
    private static func substitute(_ s: [Unicode.Scalar], _ replace: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]?) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = [], i = 0
        out.reserveCapacity(s.count + 16)
        while i < s.count {
            if i + 1 < s.count, let replaced = replace(s[i], s[i + 1]) {
                out += replaced
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }
}
