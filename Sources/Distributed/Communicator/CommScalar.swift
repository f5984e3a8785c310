/// A Swift type that communicators can send and reduce element by element.
///
/// The conforming type's memory layout must be exactly that of `commDataType` (size and encoding):
/// communicators move and reduce raw memory, so it must also be a trivial type (no references). The
/// library conforms `Float`, `Double`, `Int32`, `Int64`,
/// `Int` (64-bit platforms), `UInt8`, `UInt16` and `UInt64`.
public protocol CommScalar: Sendable {
    /// The wire and arithmetic type of one element.
    static var commDataType: CommDataType { get }
}

extension Float: CommScalar {
    /// `.float32`.
    public static var commDataType: CommDataType { .float32 }
}

extension Double: CommScalar {
    /// `.float64`.
    public static var commDataType: CommDataType { .float64 }
}

extension Int32: CommScalar {
    /// `.int32`.
    public static var commDataType: CommDataType { .int32 }
}

extension Int64: CommScalar {
    /// `.int64`.
    public static var commDataType: CommDataType { .int64 }
}

#if arch(x86_64) || arch(arm64)
extension Int: CommScalar {
    /// `.int64` (64-bit platforms only).
    public static var commDataType: CommDataType { .int64 }
}
#endif

extension UInt8: CommScalar {
    /// `.uint8`.
    public static var commDataType: CommDataType { .uint8 }
}

extension UInt16: CommScalar {
    /// `.uint16`.
    public static var commDataType: CommDataType { .uint16 }
}

extension UInt64: CommScalar {
    /// `.uint64`.
    public static var commDataType: CommDataType { .uint64 }
}
