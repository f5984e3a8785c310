/// A reader of Thrift's compact protocol, enough for Parquet's footer and page headers: every
/// struct is read generically into field id → value, and the Parquet types pick what they need.
struct ThriftCompact {
    /// A decoded value.
    indirect enum Value {
        case int(Int64)
        case bool(Bool)
        case double(Double)
        case binary([UInt8])
        case list([Value])
        case structure([Int16: Value])
        case map

        var int: Int64? { if case let .int(v) = self { return v } else { return nil } }
        var bool: Bool? { if case let .bool(v) = self { return v } else { return nil } }
        var string: String? { if case let .binary(b) = self { return String(decoding: b, as: UTF8.self) } else { return nil } }
        var list: [Value]? { if case let .list(v) = self { return v } else { return nil } }
        var fields: [Int16: Value]? { if case let .structure(v) = self { return v } else { return nil } }
    }

    /// Thrown for bytes that end early or do not follow the protocol.
    struct Malformed: Error {
        let problem: String
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    /// The read position.
    private(set) var position: Int

    /// A reader of `bytes` (which must outlive it) from `position`.
    init(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    /// Reads one struct (fields until the stop byte).
    mutating func readStruct(depth: Int = 0) throws -> [Int16: Value] {
        guard depth < 64 else { throw Malformed(problem: "structs nested too deep") }
        var fields: [Int16: Value] = [:]
        var lastId: Int16 = 0
        while true {
            let header = try byte()
            if header == 0 { return fields }
            let delta = Int16(header >> 4)
            let type = header & 0x0F
            let id: Int16
            if delta == 0 {
                id = Int16(truncatingIfNeeded: zigzag(try varint()))
            } else {
                id = lastId &+ delta
            }
            lastId = id
            switch type {
            case 1: fields[id] = .bool(true)
            case 2: fields[id] = .bool(false)
            default: fields[id] = try value(type, depth: depth)
            }
        }
    }

    private mutating func value(_ type: UInt8, depth: Int) throws -> Value {
        switch type {
        case 1, 2: return .bool(try byte() == 1)  // a bool inside a list or map
        case 3: return .int(Int64(Int8(bitPattern: try byte())))
        case 4, 5, 6: return .int(zigzag(try varint()))
        case 7:
            guard position + 8 <= bytes.count else { throw Malformed(problem: "ends inside a double") }
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(bytes[position + k]) << (8 * k) }
            position += 8
            return .double(Double(bitPattern: bits))
        case 8:
            let length = Int(try varint())
            guard length >= 0, position + length <= bytes.count else { throw Malformed(problem: "ends inside a string") }
            defer { position += length }
            return .binary(Array(bytes[position..<(position + length)]))
        case 9, 10:
            let header = try byte()
            var count = Int(header >> 4)
            if count == 15 { count = Int(try varint()) }
            guard count >= 0, count <= bytes.count - position else { throw Malformed(problem: "list longer than the data") }
            let element = header & 0x0F
            var items: [Value] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try value(element, depth: depth + 1)) }
            return .list(items)
        case 11:
            let count = Int(try varint())
            guard count >= 0, count <= bytes.count - position else { throw Malformed(problem: "map longer than the data") }
            if count > 0 {
                let types = try byte()
                for _ in 0..<count {
                    _ = try value(types >> 4, depth: depth + 1)
                    _ = try value(types & 0x0F, depth: depth + 1)
                }
            }
            return .map
        case 12: return .structure(try readStruct(depth: depth + 1))
        default: throw Malformed(problem: "unknown field type \(type)")
        }
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Malformed(problem: "ends early") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { throw Malformed(problem: "varint too long") }
        }
    }

    private func zigzag(_ n: UInt64) -> Int64 { Int64(bitPattern: (n >> 1) ^ (0 &- (n & 1))) }
}
