/// GPT-2's byte-to-unicode alphabet: every byte maps to one printable Unicode scalar.
///
/// Byte-level BPE works on bytes, but `tokenizer.json` stores tokens as strings. GPT-2 maps the
/// 188 bytes that are already printable (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) to themselves and the other 68
/// (controls, space, DEL, NBSP, soft hyphen) to U+0100 onwards in byte order, so a space is `Ġ`
/// (U+0120) and a newline is `Ċ` (U+010A). The mapping is a bijection, which is what makes any byte
/// sequence, invalid UTF-8 included, encodable and decodable.
public enum ByteLevel {
    /// The scalar each byte maps to, indexed by byte value.
    public static let scalars: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Each byte's position when the 256 alphabet scalars are sorted by code point (printable
    /// bytes first, in byte order, then the remapped ones): the order in which the Python
    /// library's BPE trainer numbers its initial alphabet.
    static let alphabetRank: [Int] = {
        var rank = [Int](repeating: 0, count: 256)
        for (position, byte) in (0..<256).sorted(by: { scalars[$0].value < scalars[$1].value }).enumerated() {
            rank[byte] = position
        }
        return rank
    }()

    /// The inverse map: byte for each alphabet scalar value (U+0000…U+0143), or -1 outside the alphabet.
    static let inverse: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (byte, scalar) in scalars.enumerated() { table[Int(scalar.value)] = Int16(byte) }
        return table
    }()

    /// Whether GPT-2 keeps this byte as its own Latin-1 character.
    @inline(__always)
    static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte a scalar stands for, or nil when the scalar is not in the alphabet.
    @inline(__always)
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < inverse.count, inverse[value] >= 0 else { return nil }
        return UInt8(inverse[value])
    }

    /// Maps raw bytes to their alphabet string (as stored in `tokenizer.json`).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var view = String.UnicodeScalarView()
        for byte in bytes { view.append(scalars[Int(byte)]) }
        return String(view)
    }

    /// Maps an alphabet string back to raw bytes, or nil when it contains a scalar outside the alphabet.
    public static func decode(_ string: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(string.utf8.count)
        for scalar in string.unicodeScalars {
            guard let byte = byte(for: scalar) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
