import Foundation
import Support

/// A safetensors file: an 8-byte little-endian header length, a JSON header, then raw tensor bytes.
///
/// Reading memory-maps the file and checks the header completely (offsets inside the data, no
/// overlaps, sizes that match dtype × shape) before any tensor is touched; every problem is a
/// `ModelError` naming the file. Writing goes to a temporary name and is renamed into place.
public struct SafeTensors {
    /// Element types this project reads and writes.
    public enum DType: String, Sendable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32", u16 = "U16", u8 = "U8"
        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .u16: 2
            case .u8: 1
            }
        }
    }

    /// One tensor's entry in the header.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let bytes: Range<Int>
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The file this was read from (for messages).
    public let path: String
    /// Entries by tensor name.
    public let entries: [String: Entry]
    /// The header's `__metadata__` strings.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Tensor names in file order.
    public var names: [String] { entries.values.sorted { $0.bytes.lowerBound < $1.bytes.lowerBound }.map(\.name) }

    /// Reads and validates the file at `path`.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError("\(path): no such file; check the path")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ModelError("\(path): cannot read (\(error.localizedDescription))")
        }
        guard data.count >= 8 else { throw ModelError("\(path): \(data.count) bytes, too short to be safetensors (needs an 8-byte header length)") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(data.count - 8), headerLength <= 100_000_000 else {
            throw ModelError("\(path): header length \(headerLength) exceeds the file size \(data.count); the file is truncated or not safetensors")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerBytes)) as? [String: Any] else {
            throw ModelError("\(path): the header is not a JSON object; the file is not safetensors")
        }
        let start = 8 + Int(headerLength)
        let dataSize = data.count - start
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw ModelError("\(path): tensor '\(name)' has a malformed header entry (needs dtype, shape, data_offsets)")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw ModelError("\(path): tensor '\(name)' has dtype \(dtypeName), which this tool does not read (F32, F64, BF16, F16, I32, I64, U16, U8)")
            }
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw ModelError("\(path): tensor '\(name)' has data offsets \(offsets) outside the \(dataSize)-byte data section; the file is truncated or corrupt")
            }
            let expected = shape.reduce(1, *) * dtype.size
            guard offsets[1] - offsets[0] == expected else {
                throw ModelError("\(path): tensor '\(name)' holds \(offsets[1] - offsets[0]) bytes but \(dtypeName) \(shape) needs \(expected)")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, bytes: offsets[0]..<offsets[1])
        }
        let sorted = entries.values.sorted { $0.bytes.lowerBound < $1.bytes.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.bytes.upperBound > b.bytes.lowerBound {
            throw ModelError("\(path): tensors '\(a.name)' and '\(b.name)' overlap; the file is corrupt")
        }
        self.entries = entries
        self.metadata = metadata
        self.data = data
        self.dataStart = start
    }

    /// The entry named `name`, or an error naming the file and the tensor.
    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw ModelError("\(path): no tensor named '\(name)'") }
        return e
    }

    /// Copies tensor `name` as Floats into `out` (F32 as is; F64, F16, BF16 converted). Checks the count.
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>, count: Int) throws {
        let e = try entry(name)
        guard e.count == count else {
            throw ModelError("\(path): tensor '\(name)' has shape \(e.shape) (\(e.count) values) but \(count) were expected")
        }
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.bytes.lowerBound
            switch e.dtype {
            case .f32:
                memcpy(out, base, count * 4)
            case .f64:
                for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
            case .bf16:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
            case .f16:
                #if arch(x86_64) || arch(arm64)
                for i in 0..<count { out[i] = Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                #endif
            case .i32:
                for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
            case .i64:
                for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
            case .u16:
                for i in 0..<count { out[i] = Float(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .u8:
                for i in 0..<count { out[i] = Float(base.load(fromByteOffset: i, as: UInt8.self)) }
            }
        }
    }

    /// Tensor `name` as a Float array.
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        var result = [Float](repeating: 0, count: e.count)
        try result.withUnsafeMutableBufferPointer { try read(name, into: $0.baseAddress!, count: e.count) }
        return result
    }

    /// Tensor `name` (I32 or I64) as Int32 values.
    public func int32s(_ name: String) throws -> [Int32] {
        let e = try entry(name)
        return try data.withUnsafeBytes { raw -> [Int32] in
            let base = raw.baseAddress! + dataStart + e.bytes.lowerBound
            switch e.dtype {
            case .i32: return (0..<e.count).map { base.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
            case .i64: return (0..<e.count).map { Int32(truncatingIfNeeded: base.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            default: throw ModelError("\(path): tensor '\(name)' is \(e.dtype.rawValue), expected an integer tensor (I32 or I64)")
            }
        }
    }

    /// A tensor to write: its name, dtype, shape and raw little-endian bytes.
    public struct Output {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let bytes: UnsafeRawBufferPointer
        public init(name: String, dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) {
            self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }
    }

    /// Writes `tensors` (in the given order) and `metadata` to `path`, atomically (temporary file, then
    /// rename). The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
    public static func write(_ tensors: [Output], metadata: [String: String] = [:], to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            precondition(t.bytes.count == t.shape.reduce(1, *) * t.dtype.size, "tensor \(t.name): byte count does not match shape")
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors { out.append(contentsOf: t.bytes) }
        do {
            try AtomicFile.write([UInt8](out), to: path)
        } catch {
            throw ModelError("\(path): cannot write (\(error.what): \(error.reason)); check the directory exists and has space")
        }
    }
}
