/// The four character classes of GPT-2's split pattern, and a fast UTF-8 classifier.
///
/// `\p{L}` is any letter (Lu Ll Lt Lm Lo), `\p{N}` any number (Nd Nl No), `\s` the Unicode
/// White_Space property (as in Oniguruma, which the Python `tokenizers` library uses for this
/// pattern), and everything else, invalid UTF-8 bytes included, is "other".
enum ScalarClass: UInt8 {
    case other = 0
    case letter = 1
    case number = 2
    case space = 3

    /// The class of one scalar, from the Unicode properties of the standard library.
    static func of(_ scalar: Unicode.Scalar) -> ScalarClass {
        let properties = scalar.properties
        if properties.isWhitespace { return .space }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// Classes of the Basic Multilingual Plane, computed once (64 KiB).
    static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for value in 0..<0x10000 {
            if let scalar = Unicode.Scalar(UInt32(value)) { table[value] = of(scalar).rawValue }
        }
        return table
    }()

    /// Classifies the UTF-8 sequence at `p[i]` (with `i < end`), returning its class and byte length.
    ///
    /// A byte that does not start a well-formed sequence (stray continuation, overlong form,
    /// surrogate, past U+10FFFF, truncated) is one "other" byte, so every input splits somewhere.
    @inline(__always)
    static func decode(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ table: UnsafePointer<UInt8>)
        -> (cls: UInt8, length: Int)
    {
        let b0 = p[i]
        if b0 < 0x80 { return (table[Int(b0)], 1) }
        return decodeMultibyte(p, i, end, table)
    }

    /// The non-ASCII part of `decode`.
    static func decodeMultibyte(_ p: UnsafePointer<UInt8>, _ i: Int, _ end: Int, _ table: UnsafePointer<UInt8>)
        -> (cls: UInt8, length: Int)
    {
        let b0 = p[i]
        @inline(__always) func cont(_ k: Int) -> UInt32? {
            guard i + k < end else { return nil }
            let b = p[i + k]
            return b & 0xC0 == 0x80 ? UInt32(b & 0x3F) : nil
        }
        if b0 < 0xC2 { return (ScalarClass.other.rawValue, 1) }
        if b0 < 0xE0 {
            guard let c1 = cont(1) else { return (ScalarClass.other.rawValue, 1) }
            return (table[Int((UInt32(b0 & 0x1F) << 6) | c1)], 2)
        }
        if b0 < 0xF0 {
            guard let c1 = cont(1), let c2 = cont(2) else { return (ScalarClass.other.rawValue, 1) }
            let value = (UInt32(b0 & 0x0F) << 12) | (c1 << 6) | c2
            if value < 0x800 || (0xD800...0xDFFF).contains(value) { return (ScalarClass.other.rawValue, 1) }
            return (table[Int(value)], 3)
        }
        if b0 < 0xF5 {
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return (ScalarClass.other.rawValue, 1) }
            let value = (UInt32(b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3
            guard value >= 0x10000, value <= 0x10FFFF, let scalar = Unicode.Scalar(value) else {
                return (ScalarClass.other.rawValue, 1)
            }
            return (of(scalar).rawValue, 4)
        }
        return (ScalarClass.other.rawValue, 1)
    }
}
